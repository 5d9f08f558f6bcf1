"""Matching pages: a candidate's "offers for you" (fair.match_offers) with the reasons of each
(fair/web/match_view.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import job_search, match_offers, matching
from fair.enums import Role
from fair.web import match_view
from fair.web.auth import database, page, require_role
from fair.web.templating import render

SHOWN = 20


@page
async def offers_for_you(request: Request) -> Response:
    """The open offers that best match the candidate's job search, best first, with reasons."""
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    wanted = await job_search.of(session, user.id)
    found = await match_offers.offers_for(session, user.id, limit=SHOWN)
    rows = [(m.offer, m.match, match_view.reasons(m.match, matching.YOU)) for m in found]
    context = {"described": wanted.described(), "rows": rows}
    return render(request, "candidate/offers_for_you.html", context)


routes = [
    Route("/me/offers-for-you", offers_for_you, name="offers_for_you"),
]
