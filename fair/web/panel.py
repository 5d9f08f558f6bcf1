"""The organisers' live panel page (fair.live_panel): the edition's figures now, kept up to date
over /live by static/dashboard.js, which also reads this page again to (re)start from the
current panel. The dashboard includes the same partial (templates/organiser/_live_panel.html)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import editions, live_panel, permissions
from fair.enums import Role
from fair.web.auth import database, page, path_int, require_role
from fair.web.templating import render


@page
async def edition_live(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    await permissions.require_organiser(session, user, edition)
    context = {"edition": edition, "live_panel": await live_panel.snapshot(session, edition.id)}
    return render(request, "organiser/live.html", context)


routes = [Route("/organiser/editions/{edition_id:int}/live", edition_live, name="edition_live")]
