"""A search's statements built once per shape, their values bound per request.

Building a search's SQL expressions in Python cost more than running them at 100,000 offers
(py-spy, bench/pagecost.py: the title tiers' LIKEs, the bounded ranking's subqueries, the
facets' counts, rebuilt on every request, then keyed again for SQLAlchemy's compiled cache).
A statement's shape is what decides its SQL text: the dialect, which filters are set, how
many words and groups of them, the sort; its values (the words' stems, the filters' values,
the place, the page) are named parameters (`bind`) given at execution. Each module writes
its shape as a hashable value (fair.search.filters.Shape, fair.search.match.Words…) and
builds from it alone, so that the same shape always gives the same SQL; `built` keeps the
statements by shape, `SIZE` at most (the least recently used dropped first). A statement kept
is reused as it is: SQLAlchemy memoises its cache key, and its compiled form is found at once.
Past SIZE shapes, the least recently used is dropped (built again when asked).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Float, Integer, String, bindparam
from sqlalchemy.types import TypeEngine

SIZE = 512  # shapes kept: a few per kind of search, times the filters combined
T = TypeVar("T")

# Code, not data: never stale, the same for every edition and database (a shape names its
# dialect), so not one of the answers fair.search.cache forgets (nor tests/statements.py).
_BUILT: OrderedDict[Hashable, Any] = OrderedDict()


def built(key: Hashable, build: Callable[[], T]) -> T:
    """The statement kept for `key` (a shape), else `build`'s, then kept (the least recently
    used dropped past SIZE)."""
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
        if len(_BUILT) > SIZE:
            _BUILT.popitem(last=False)
    else:
        _BUILT.move_to_end(key)
    return found


def kept() -> int:
    """How many statements are kept (the tests: a shape is built once)."""
    return len(_BUILT)


def forget() -> None:
    _BUILT.clear()


def bind(name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]] = String) -> BindParameter[Any]:
    """A named parameter without a value: executing a statement without it fails (a value
    left from another request is never used)."""
    return bindparam(name, type_=type_)


def number(name: str) -> BindParameter[Any]:
    return bind(name, Float)


def integer(name: str) -> BindParameter[Any]:
    return bind(name, Integer)


def listed(
    name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]] = String
) -> BindParameter[Any]:
    """A list's parameter: `x IN (…)` with as many values as given."""
    return bindparam(name, type_=type_, expanding=True)
