"""The "My fair" page: a candidate's day at an edition (fair.my_fair), kept current live."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import editions, my_fair
from fair.enums import Role
from fair.web import urls
from fair.web.auth import database, page, require_role
from fair.web.templating import render


@page
async def my_fair_page(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    mine = await my_fair.of_candidate(session, candidate=user, edition=edition)
    context = {"edition": edition, "mine": mine, "refresh_on": " ".join(my_fair.LIVE_EVENTS)}
    return render(request, "candidate/my_fair.html", context)


@page
async def my_fair_current(request: Request) -> Response:
    """The menu's "My fair": the edition the candidate takes part in that is live (or next)."""
    user = require_role(request, Role.CANDIDATE)
    edition = await my_fair.current_edition(database(request), user)
    if edition is None:
        return render(request, "candidate/my_fair.html", {"edition": None, "mine": None})
    return urls.redirect(request, "my_fair", slug=edition.slug)


routes = [
    Route("/e/{slug}/my-fair", my_fair_page, name="my_fair"),
    Route("/me/fair", my_fair_current, name="my_fair_current"),
]
