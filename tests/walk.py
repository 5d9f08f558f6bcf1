"""Walking the app as a browser would: the pages reachable by links, and a database snapshot.

`walk` follows same-site links breadth first from a start page, at most `per_route` pages per
route of the app (the demo has 600 offers: one or two of a kind say what the others would), and
returns every page it read. `snapshot` reads every table of the schema, so a test can say
"nothing changed" about the whole database.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from sqlalchemy import select
from starlette.routing import Match, Route

from fair.models import Base

BASE = "http://testserver/"
# Links that leave the page's world or act when followed.
SKIPPED_PREFIXES = ("/static/", "/live", "/logout")


@dataclass
class Page:
    url: str
    route: str
    status: int
    text: str


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links(page: str, url: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    found = []
    for href in parser.hrefs:
        absolute = urldefrag(urljoin(url, href))[0]
        parts = urlsplit(absolute)
        if parts.netloc == urlsplit(BASE).netloc and not parts.path.startswith(SKIPPED_PREFIXES):
            found.append(absolute)
    return found


def route_name(app: Any, url: str, method: str = "GET") -> str | None:
    """The name of the app's route that answers `method url`, if any."""
    scope = {"type": "http", "path": urlsplit(url).path, "method": method}
    for route in app.routes:
        if isinstance(route, Route) and route.matches(scope)[0] == Match.FULL:
            return route.name
    return None


async def walk(
    app: Any, client: httpx.AsyncClient, start: str = "/", *, depth: int = 3, per_route: int = 2
) -> list[Page]:
    """Pages reachable from `start` in at most `depth` clicks, `per_route` at most per route."""
    seen: set[str] = set()
    per: dict[str, int] = {}
    pages: list[Page] = []
    frontier = [urljoin(BASE, start)]
    for level in range(depth + 1):
        following: list[str] = []
        for url in frontier:
            name = route_name(app, url)
            if url in seen or name is None or per.get(name, 0) >= per_route:
                continue
            seen.add(url)
            per[name] = per.get(name, 0) + 1
            response = await client.get(url)
            pages.append(Page(url, name, response.status_code, response.text))
            if level < depth and "html" in response.headers.get("content-type", ""):
                following += links(response.text, url)
        frontier = following
    return pages


Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


async def snapshot(app: Any) -> Rows:
    """Every row of every table by primary key, read through a fresh session."""
    rows: Rows = {}
    async with app.state.read_sessions() as session:
        dialect = session.bind.dialect.name
        for table in Base.metadata.sorted_tables:
            if table.info.get("dialect", dialect) != dialect:  # fair.models.SearchOffer
                continue
            keys = list(table.primary_key.columns)
            found = (await session.execute(select(table))).mappings().all()
            rows[table.name] = {tuple(row[k] for k in keys): dict(row) for row in found}
    return rows


def changed(
    before: Rows, after: Rows, *, ignore: frozenset[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    """Per table that differs: rows gone, rows new, and the columns that changed in the others
    (but for the `ignore`d column names)."""
    out: dict[str, dict[str, Any]] = {}
    for name, old in before.items():
        new = after[name]
        diff: dict[str, Any] = {
            "gone": [old[k] for k in old.keys() - new.keys()],
            "new": [new[k] for k in new.keys() - old.keys()],
        }
        for key in old.keys() & new.keys():
            columns = {
                c: (v, new[key][c])
                for c, v in old[key].items()
                if new[key][c] != v and c not in ignore
            }
            if columns:
                diff[str(key)] = columns
        if diff["gone"] or diff["new"] or len(diff) > 2:
            out[name] = diff
    return out
