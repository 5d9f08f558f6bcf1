"""Path convertors: `{name:int}` matches only database ids (1 .. 2**31 - 1), `{name}` only
printable text.

Starlette's own `int` convertor matches any run of digits, so `/offers/9223372036854775808`
reached the database as an integer it cannot hold (a 500). Ours matches by its regex alone,
so a value out of range, with leading zeros or with non-ASCII digits matches no route: a 404.
Likewise a text segment (a slug, a token) with NUL or another control character, which
PostgreSQL refuses in a query, matches no route.
They replace Starlette's `int` and `str` for every route; fair/web/__init__.py registers them
before any route module builds its routes (Starlette compiles a path when the Route is created).
"""

from __future__ import annotations

import re

from starlette.convertors import Convertor, register_url_convertor

from fair import parse


def bounded_digits(bound: int) -> str:
    """A regex matching exactly the decimal numbers 1 .. `bound`, without leading zeros."""
    digits = str(bound)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConvertor(Convertor[int]):
    regex = bounded_digits(parse.MAX_ID)

    def convert(self, value: str) -> int:
        return parse.identifier(value)

    def to_string(self, value: int) -> str:
        return str(parse.identifier(value))


class TextConvertor(Convertor[str]):
    regex = "[^/\x00-\x1f\x7f-\x9f\ud800-\udfff]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        value = str(value)
        assert value and re.fullmatch(self.regex, value), f"Not a path segment: {value!r}"
        return value


def register() -> None:
    register_url_convertor("int", IdConvertor())
    register_url_convertor("str", TextConvertor())
