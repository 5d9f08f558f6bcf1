"""Partners' API keys (fair.api_keys): the edition's, for its organisers, and a booth's own,
for its recruiters (writing its offers, reading its applications for their applicant tracking
system). One page each: the list (scopes, booth, when created and last used, revoked), a form
creating one, whose full text is shown once in the answer to that form (never kept, never in a
cookie), a button revoking one, and the audit of the keys' uses that read personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import api_keys, employers, permissions
from fair.enums import ApiScope, BoothStatus, Role
from fair.errors import Invalid
from fair.models import ApiKey, Booth, Edition, User
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, release, require_role
from fair.web.flash import flash
from fair.web.templating import render


@dataclass(frozen=True)
class Owner:
    """Whose keys a page shows: an edition's (organisers) or one booth's (its recruiters)."""

    edition: Edition
    booth: Booth | None = None

    @property
    def scopes(self) -> list[ApiScope]:
        """The form's scopes: never the network's (registering a partner issues them)."""
        return [s for s in ApiScope if not s.for_network and (self.booth is None or s.for_booth)]

    @property
    def params(self) -> dict[str, int]:
        if self.booth is None:
            return {"edition_id": self.edition.id}
        return {"booth_id": self.booth.id}

    def page(self, request: Request) -> str:
        route = "edition_api_keys" if self.booth is None else "booth_api_keys"
        return urls.path(request, route, **self.params)

    def revoke(self, request: Request, key: ApiKey) -> str:
        route = "api_key_revoke" if self.booth is None else "booth_api_key_revoke"
        return urls.path(request, route, key_id=key.id, **self.params)


async def _keys_page(
    request: Request,
    owner: Owner,
    *,
    form: forms.FormState | None = None,
    created: str = "",
    status: int = 200,
) -> Response:
    session = database(request)
    edition, booth = owner.edition, owner.booth
    booth_id = booth.id if booth else None
    if booth is None:
        booths = await employers.booths_of_edition(session, edition, status=BoothStatus.APPROVED)
        choices = [(b.id, b.employer.name) for b in booths]
    else:
        choices = []
    keys = await api_keys.listing(session, edition.id, booth_id=booth_id)
    context = {
        "edition": edition,
        "booth": booth,
        "keys": keys,
        "revoke": {item.key.id: owner.revoke(request, item.key) for item in keys},
        "action": owner.page(request),
        "uses": await api_keys.uses(session, edition.id, booth_id=booth_id),
        "scopes": owner.scopes,
        "all_scopes": list(ApiScope),  # a network partner's key lists its scopes too
        "booths": choices,
        "form": form,
        "created": created,
    }
    response = render(request, "organiser/api_keys.html", context, status=status)
    response.headers["cache-control"] = "no-store"  # the key shown once stays out of caches
    return response


async def _create(request: Request, owner: Owner, user: User) -> Response:
    fields = forms.Fields(await forms.read(request))
    name = fields.text("name")
    posted = [s for s in ApiScope if fields.flag(f"scope_{s.name.lower()}")]
    scopes = [s for s in posted if s in owner.scopes]
    booth_id = fields.identifier("booth", required=False) if owner.booth is None else None
    session = database(request)
    try:
        fields.done()
        if any(s.for_network for s in posted):  # never silently dropped: refused
            raise Invalid(
                api_keys.NETWORK_ONLY,
                code="api.network_scope",
                fields={"scopes": api_keys.NETWORK_ONLY},
            )
        if owner.booth is None:
            _key, raw = await api_keys.create(
                session, edition=owner.edition, name=name, scopes=scopes, booth_id=booth_id, by=user
            )
        else:
            _key, raw = await api_keys.create_for_booth(
                session, booth=owner.booth, name=name, scopes=scopes, by=user
            )
    except Invalid as error:
        await release(request)
        state = forms.state_from(fields, error)
        return await _keys_page(request, owner, form=state, status=error.status)
    return await _keys_page(request, owner, created=raw)


async def _revoke(request: Request, owner: Owner) -> Response:
    session = database(request)
    booth_id = owner.booth.id if owner.booth else None
    key = await api_keys.get(
        session, path_int(request, "key_id"), edition_id=owner.edition.id, booth_id=booth_id
    )
    await api_keys.revoke(session, key)
    flash(request, "The key %(name)s is revoked: it no longer opens the API.", name=key.name)
    return urls.see_other(owner.page(request))


# The edition's keys, for its organisers --------------------------------------------------------


@page
async def edition_api_keys(request: Request) -> Response:
    user, edition = await organised_edition(request)
    if request.method == "POST":
        return await _create(request, Owner(edition), user)
    return await _keys_page(request, Owner(edition))


@page
async def api_key_revoke(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    return await _revoke(request, Owner(edition))


# A booth's own keys, for its recruiters ----------------------------------------------------


async def _booth_owner(request: Request) -> tuple[User, Owner]:
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    await permissions.require_booth_member(session, user, booth)
    return user, Owner(booth.edition, booth)


@page
async def booth_api_keys(request: Request) -> Response:
    user, owner = await _booth_owner(request)
    if request.method == "POST":
        return await _create(request, owner, user)
    return await _keys_page(request, owner)


@page
async def booth_api_key_revoke(request: Request) -> Response:
    _user, owner = await _booth_owner(request)
    return await _revoke(request, owner)


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
    Route(
        "/recruiter/booths/{booth_id:int}/api-keys",
        booth_api_keys,
        methods=["GET", "POST"],
        name="booth_api_keys",
    ),
    Route(
        "/recruiter/booths/{booth_id:int}/api-keys/{key_id:int}/revoke",
        booth_api_key_revoke,
        methods=["POST"],
        name="booth_api_key_revoke",
    ),
]
