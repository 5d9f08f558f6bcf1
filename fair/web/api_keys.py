"""Partners' API keys of an edition (fair.api_keys), for its organisers: the list (scopes,
booth, when created and last used, revoked), a form creating one, whose full text is shown once
in the answer to that form (never kept, never in a cookie), a button revoking one, and the
audit of the keys' uses that read personal data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import api_keys, employers
from fair.enums import ApiScope, BoothStatus
from fair.errors import Invalid
from fair.models import Edition
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, release
from fair.web.flash import flash
from fair.web.templating import render


async def _keys_page(
    request: Request,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    created: str = "",
    status: int = 200,
) -> Response:
    session = database(request)
    booths = await employers.booths_of_edition(session, edition, status=BoothStatus.APPROVED)
    context = {
        "edition": edition,
        "keys": await api_keys.listing(session, edition.id),
        "uses": await api_keys.uses(session, edition.id),
        "scopes": list(ApiScope),
        "booths": [(b.id, b.employer.name) for b in booths],
        "form": form,
        "created": created,
    }
    response = render(request, "organiser/api_keys.html", context, status=status)
    response.headers["cache-control"] = "no-store"  # the key shown once stays out of caches
    return response


@page
async def edition_api_keys(request: Request) -> Response:
    user, edition = await organised_edition(request)
    if request.method != "POST":
        return await _keys_page(request, edition)
    fields = forms.Fields(await forms.read(request))
    name = fields.text("name")
    scopes = [s for s in ApiScope if fields.flag(f"scope_{s.name.lower()}")]
    booth_id = fields.identifier("booth", required=False)
    try:
        fields.done()
        _key, raw = await api_keys.create(
            database(request),
            edition=edition,
            name=name,
            scopes=scopes,
            booth_id=booth_id,
            by=user,
        )
    except Invalid as error:
        await release(request)
        state = forms.state_from(fields, error)
        return await _keys_page(request, edition, form=state, status=error.status)
    return await _keys_page(request, edition, created=raw)


@page
async def api_key_revoke(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    key = await api_keys.get(session, path_int(request, "key_id"), edition_id=edition.id)
    await api_keys.revoke(session, key)
    flash(request, "The key %(name)s is revoked: it no longer opens the API.", name=key.name)
    return urls.redirect(request, "edition_api_keys", edition_id=edition.id)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/api-keys",
        edition_api_keys,
        methods=["GET", "POST"],
        name="edition_api_keys",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/api-keys/{key_id:int}/revoke",
        api_key_revoke,
        methods=["POST"],
        name="api_key_revoke",
    ),
]
