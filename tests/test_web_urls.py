"""fair/web/urls.py: paths of named routes and the one redirect after a form."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair.web import urls


async def _page(request: Request) -> Response:
    return Response("")


ROUTES = [
    Route("/login", _page, name="login"),
    Route("/e/{slug}/booths/{booth_id:int}", _page, name="booth"),
]


def _request() -> Request:
    return Request({"type": "http", "app": Starlette(routes=ROUTES), "headers": []})


def test_path_of_a_named_route() -> None:
    assert urls.path(_request(), "booth", slug="forum-2026", booth_id=7) == "/e/forum-2026/booths/7"


def test_redirect_is_a_303_with_query_and_anchor() -> None:
    request = _request()
    plain = urls.redirect(request, "login")
    assert (plain.status_code, plain.headers["location"]) == (303, "/login")
    to_booth = urls.redirect(request, "booth", slug="f", booth_id=3, anchor="desk")
    assert to_booth.headers["location"] == "/e/f/booths/3#desk"
    back = urls.redirect(request, "login", query={"next": "/me/profile", "n": 1}, anchor="top")
    assert back.headers["location"] == "/login?next=/me/profile&n=1#top"
    odd = urls.redirect(request, "login", query={"next": "/a b&c=d"})
    assert odd.headers["location"] == "/login?next=/a+b%26c%3Dd"


def test_see_other_keeps_a_checked_path() -> None:
    response = urls.see_other("/me/applications", query={"done": "sent"})
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/me/applications?done=sent",
    )
