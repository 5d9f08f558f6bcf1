"""The URL builder: paths of named routes (the templates' `url()`), and the one redirect that
follows a form (303 "see other", so the browser then GETs the page)."""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, NoMatchFound, Route, WebSocketRoute

from fair import settings

# Each app's routes by name, the first of a name as Starlette's own search finds it: a page
# builds tens of URLs (a link per result card), and Starlette tries every route for each.
_named: weakref.WeakKeyDictionary[Any, dict[str, BaseRoute]] = weakref.WeakKeyDictionary()


def path(request: Request, route: str, **params: object) -> str:
    """The path of the route named `route`; ids and slugs as any value (routes read strings)."""
    values = {k: str(v) for k, v in params.items()}
    app = request.app
    named = _named.get(app)
    if named is None:
        named = _named[app] = {}
        for found in app.routes:
            if isinstance(found, (Route, WebSocketRoute)):
                named.setdefault(found.name, found)
    known = named.get(route)
    if known is not None:
        try:
            return str(known.url_path_for(route, **values))
        except NoMatchFound:
            pass  # another route of the same name takes these parameters: Starlette's search
    return str(app.url_path_for(route, **values))


# A query string's parameters: a mapping, or pairs when a key repeats.
Query = Mapping[str, str | int] | Sequence[tuple[str, str]]


def redirect(
    request: Request,
    route: str,
    *,
    anchor: str = "",
    query: Query | None = None,
    **params: object,
) -> RedirectResponse:
    """A 303 to the route named `route`, with `?query` (a path in a value stays readable:
    `?next=/me/profile`) and `#anchor`."""
    return see_other(path(request, route, **params), anchor=anchor, query=query)


def see_other(target: str, *, anchor: str = "", query: Query | None = None) -> RedirectResponse:
    """A 303 to a path built already (by `path`), or checked (a `next` path the user came
    from), with `?query` and `#anchor` as `redirect` adds them."""
    if query:
        target += "?" + urlencode(query, safe="/")
    if anchor:
        target += "#" + anchor
    return RedirectResponse(target, status_code=303)


def absolute(request: Request, route: str, **params: object) -> str:
    """The absolute URL of the route named `route` at the configured public base URL (BASE_URL),
    for what leaves the site: structured data, sitemaps, feeds."""
    return settings.get().base_url + path(request, route, **params)
