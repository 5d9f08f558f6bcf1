"""Edition branding: the organiser's page (colour, logo, banner, partners) and the edition's
stylesheet that the public pages load after fair.css (fair.branding)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import app_state, branding, editions, images
from fair.errors import FairError, Invalid, NotFound
from fair.models import Edition
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int
from fair.web.flash import flash
from fair.web.templating import render

TEXT_CHOICES = ("", branding.WHITE, branding.BLACK)
IMMUTABLE = "public, max-age=31536000, immutable"


def _initial(edition: Edition) -> dict[str, Any]:
    brand = edition.brand
    if brand is None or not brand.colour:
        return {"colour": "", "text": ""}
    return {"colour": brand.colour, "text": brand.text_colour or ""}


async def _page(
    request: Request,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    partner_form: forms.FormState | None = None,
    status: int = 200,
) -> Response:
    context = {
        "edition": edition,
        "look": branding.look(edition),
        "form": form or forms.FormState(values=_initial(edition)),
        "partner_form": partner_form,
        "partners": await branding.partners(database(request), edition.id),
    }
    return render(request, "organiser/branding.html", context, status=status)


async def _prepared(
    fields: forms.Fields, name: str, preset: images.Preset
) -> images.Prepared | None:
    upload = await fields.upload(name)
    return await images.prepare(upload[1], preset, field=name) if upload else None


@page
async def edition_branding(request: Request) -> Response:
    user, edition = await organised_edition(request)
    if request.method != "POST":
        return await _page(request, edition)
    fields = forms.Fields(await forms.read(request))
    text = fields.text("text")
    try:
        data = branding.BrandInput(
            colour=fields.text("colour", max_length=20),
            text=text if text in TEXT_CHOICES else "",
            logo=await _prepared(fields, "logo", images.LOGO),
            banner=await _prepared(fields, "banner", images.BANNER),
            remove_logo=fields.flag("remove_logo"),
            remove_banner=fields.flag("remove_banner"),
        )
        await branding.update(database(request), edition, by=user, data=data)
    except FairError as error:
        return await _page(
            request, edition, form=forms.state_from(fields, error), status=error.status
        )
    flash(request, "The edition's branding was saved.")
    return urls.redirect(request, "edition_branding", edition_id=edition.id)


@page
async def partner_add(request: Request) -> Response:
    user, edition = await organised_edition(request)
    fields = forms.Fields(await forms.read(request))
    try:
        name = fields.text("partner_name", required=True, max_length=200)
        link = fields.text("partner_link", max_length=300)
        try:  # every field's error at once: the name and link, then the logo
            branding.check_partner(name, link)
        except Invalid as error:
            for key, message in error.fields.items():
                fields.errors.setdefault(key, message)
        logo = await _prepared(fields, "partner_logo", images.LOGO)
        if logo is None:
            fields.errors["partner_logo"] = "Choose the partner's logo."
        fields.done()
        assert logo is not None
        await branding.add_partner(
            database(request), edition, by=user, name=name, link=link, logo=logo
        )
    except FairError as error:
        state = forms.state_from(fields, error)
        return await _page(request, edition, partner_form=state, status=error.status)
    flash(request, "The partner was added.")
    return urls.redirect(request, "edition_branding", edition_id=edition.id)


@page
async def partner_move(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    fields = forms.Fields(await forms.read(request))
    partner_id = path_int(request, "partner_id")
    earlier = fields.text("direction") == "up"
    await branding.move_partner(database(request), edition, partner_id, earlier=earlier)
    flash(request, "The partners' order was saved.")
    return urls.redirect(request, "edition_branding", edition_id=edition.id)


@page
async def partner_remove(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    await forms.read(request)
    await branding.remove_partner(database(request), edition, path_int(request, "partner_id"))
    flash(request, "The partner was removed.")
    return urls.redirect(request, "edition_branding", edition_id=edition.id)


async def stylesheet(request: Request) -> Response:
    """The edition's colour tokens (docs/DESIGN.md, "Branding"). With `?v=` naming its current
    version (templates link it so) it is immutable; otherwise revalidated by its ETag. Not a
    `page`: no session cookie, no `Vary: Cookie`, so shared caches keep it."""
    async with app_state.of(request).read_sessions() as session:
        edition = await editions.by_slug(session, request.path_params["slug"])
        found = branding.look(edition)
    if found is None:
        raise NotFound("This edition has no branding.")
    etag = f'"{found.version}"'
    fresh = request.query_params.get("v") == found.version
    headers = {
        "cache-control": IMMUTABLE if fresh else "public, max-age=300",
        "etag": etag,
        "x-content-type-options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(branding.stylesheet(found), media_type="text/css", headers=headers)


routes = [
    Route(
        "/organiser/editions/{edition_id:int}/branding",
        edition_branding,
        methods=["GET", "POST"],
        name="edition_branding",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/branding/partners",
        partner_add,
        methods=["POST"],
        name="partner_add",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/branding/partners/{partner_id:int}/move",
        partner_move,
        methods=["POST"],
        name="partner_move",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/branding/partners/{partner_id:int}/remove",
        partner_remove,
        methods=["POST"],
        name="partner_remove",
    ),
    Route("/e/{slug}/brand.css", stylesheet, name="brand_css"),
]
