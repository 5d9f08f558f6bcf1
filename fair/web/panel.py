"""The organisers' live panel page (fair.live_panel): the edition's figures now, kept up to date
over /live by static/dashboard.js, which also reads this page again to (re)start from the
current panel. The dashboard includes the same partial (templates/organiser/_live_panel.html)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import live_panel
from fair.web.auth import database, organised_edition, page
from fair.web.templating import render


@page
async def edition_live(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    context = {"edition": edition, "live_panel": await live_panel.snapshot(session, edition.id)}
    return render(request, "organiser/live.html", context)


routes = [Route("/organiser/editions/{edition_id:int}/live", edition_live, name="edition_live")]
