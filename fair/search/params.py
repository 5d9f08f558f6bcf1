"""An offer search as parameters (text), both ways: the search page's query string, the form
that makes a search an alert (fair.web.matches) and the search an alert keeps (fair.alerts)
are the same parameters, read and written here, so that a shared link, an alert and the page
it came from all mean the same search. Values are read as typed; fair.search.check judges
them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fair import parse
from fair.search.query import MAX_PAGE, Query

# The parameters of a search, in the order a link writes them (the page number aside).
KEYS = (
    "q",
    "commune",
    "near",
    "radius_km",
    "domain",
    "contract",
    "working_time",
    "remote",
    "publics",
    "sort",
)
LIMITS = {"q": 200, "commune": 120, "near": 40}


def read(params: Any, *, page: bool = True) -> Query:
    """The search a query string or a posted form (Starlette's QueryParams, FormData: `get`
    and `getlist`) names. A radius that is no number becomes one `check` refuses; a page
    number that is none, the first page."""
    text = {key: parse.line(str(params.get(key) or ""))[: LIMITS.get(key, 40)] for key in KEYS}
    return Query(
        q=text["q"],
        commune=text["commune"],
        near=text["near"],
        radius_km=_number(text["radius_km"] or "0", hi=1000, otherwise=-1),
        domain=text["domain"],
        contract=text["contract"],
        working_time=text["working_time"],
        remote=text["remote"] == "on",
        publics={parse.line(str(p))[:20] for p in params.getlist("publics")[:10]},
        sort=text["sort"],
        page=_number(str(params.get("page") or "1"), lo=1, otherwise=1) if page else 1,
    )


def _number(raw: str, *, lo: int = 0, hi: int = MAX_PAGE, otherwise: int) -> int:
    try:
        return parse.integer(raw, lo=lo, hi=hi)
    except parse.ParseError:
        return otherwise


def pairs(query: Query, *, sort: bool = True) -> list[tuple[str, str]]:
    """The parameters that name `query` (empty ones left out; each public repeated), in KEYS
    order: what a link or an alert's form carries."""
    found: list[tuple[str, str]] = []
    for key in KEYS:
        value = getattr(query, key)
        if key == "publics":
            found += [("publics", p) for p in sorted(value)]
        elif key == "remote":
            found += [("remote", "on")] if value else []
        elif key == "sort" and not sort:
            continue
        elif value:
            found.append((key, str(value)))
    return found


class Kept(dict[str, str]):
    """A stored search's parameters (an alert's JSON: one string per key, publics joined by
    commas) seen as a query string."""

    def getlist(self, key: str) -> list[str]:
        value = self.get(key) or ""
        return [v for v in value.split(",") if v] if key == "publics" else [value] * bool(value)


def kept(query: Query) -> dict[str, str]:
    """`query` as an alert keeps it (fair.alerts): its parameters, publics joined by commas."""
    found: dict[str, str] = {}
    for key, value in pairs(query, sort=False):
        found[key] = f"{found[key]},{value}" if key in found else value
    return found


def from_kept(stored: Mapping[str, str]) -> Query:
    return read(Kept(stored), page=False)
