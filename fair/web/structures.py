"""Organisers' and administrators' pages for structures (fair.structures): create one, approve
it or withdraw its approval, add its counsellors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import editions, geo, permissions, structures
from fair.enums import Role, StructureKind
from fair.errors import FairError, Invalid
from fair.i18n import gettext
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_role
from fair.web.flash import flash
from fair.web.templating import render


async def _list_context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    listed = await structures.of_manager(session, user)
    return {
        "structures": [(s, StructureKind(s.kind).label, structures.territory(s)) for s in listed],
        "kinds": [(k.value, gettext(k.label)) for k in StructureKind],
        "editions": [(e.id, e.title) for e in await editions.organised_by(session, user)],
        "is_admin": permissions.is_admin(user),
        "form": form,
    }


@page
async def structures_page(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    if request.method != "POST":
        return render(request, "organiser/structures.html", await _list_context(request))
    fields = forms.Fields(await forms.read(request))
    try:
        data = structures.StructureInput(
            name=fields.text("name", required=True, max_length=200),
            kind=fields.text("kind", required=True),
            departement=fields.text("departement", required=True, max_length=3),
            epci=fields.text("epci", max_length=9),
            communes=fields.text("communes", max_length=2000).replace(",", " ").split(),
        )
        edition_id = fields.identifier("edition", required=not permissions.is_admin(user))
        try:  # the territory's errors shown with the form's, at once
            structures.check(data)
        except Invalid as error:
            fields.errors = error.fields | fields.errors
        fields.done()
        structure = await structures.create(
            database(request), by=user, data=data, edition_id=edition_id
        )
    except FairError as error:
        context = await _list_context(request, forms.state_from(fields, error))
        return render(request, "organiser/structures.html", context, status=error.status)
    flash(request, "The structure %(name)s is created and approved.", name=structure.name)
    return urls.redirect(request, "structure", structure_id=structure.id)


async def _context(request: Request, form: forms.FormState | None = None) -> dict[str, Any]:
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    structure = await structures.managed(session, user, path_int(request, "structure_id"))
    return {
        "structure": structure,
        "kind": StructureKind(structure.kind).label,
        "territory": structures.territory(structure),
        "departement": geo.departement_name(structure.departement),
        "counsellors": await structures.counsellors(session, structure),
        "form": form,
    }


@page
async def structure_page(request: Request) -> Response:
    return render(request, "organiser/structure.html", await _context(request))


@page
async def approval(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    structure = await structures.managed(session, user, path_int(request, "structure_id"))
    fields = forms.Fields(await forms.read(request))
    approved = fields.text("approved") == "1"
    await structures.set_approved(session, structure, by=user, approved=approved)
    flash(request, "The structure is approved." if approved else "The approval is withdrawn.")
    return urls.redirect(request, "structure", structure_id=structure.id)


@page
async def add_counsellor(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    structure = await structures.managed(session, user, path_int(request, "structure_id"))
    fields = forms.Fields(await forms.read(request))
    try:
        name = fields.text("name", required=True, max_length=120)
        email = fields.text("email", required=True, max_length=254)
        fields.done()
        added = await structures.add_counsellor(
            session, by=user, structure=structure, email=email, name=name
        )
    except FairError as error:
        context = await _context(request, forms.state_from(fields, error))
        return render(request, "organiser/structure.html", context, status=error.status)
    flash(request, "%(name)s is a counsellor of this structure; they were mailed.", name=added.name)
    return urls.redirect(request, "structure", structure_id=structure.id)


routes = [
    Route("/structures", structures_page, methods=["GET", "POST"], name="structures"),
    Route("/structures/{structure_id:int}", structure_page, name="structure"),
    Route(
        "/structures/{structure_id:int}/approval",
        approval,
        methods=["POST"],
        name="structure_approval",
    ),
    Route(
        "/structures/{structure_id:int}/counsellors",
        add_counsellor,
        methods=["POST"],
        name="structure_add_counsellor",
    ),
]
