"""Organiser pages: editions and their settings, booth approval, the response report, exports."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    admission,
    admission_gate,
    applications,
    candidates,
    clock,
    disclosure,
    editions,
    employers,
    francetravail,
    offers,
    permissions,
    presence,
)
from fair.enums import BoothStatus, Role
from fair.errors import FairError, Invalid
from fair.i18n import N_, gettext
from fair.models import Booth, Edition, User
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, require_role
from fair.web.flash import flash
from fair.web.templating import render

DEFAULT_ZONE = "Europe/Paris"
# France's time zones first; any other known zone is accepted when already set.
ZONES = [
    ("Europe/Paris", N_("Metropolitan France (Europe/Paris)")),
    ("America/Guadeloupe", N_("Guadeloupe (America/Guadeloupe)")),
    ("America/Martinique", N_("Martinique (America/Martinique)")),
    ("America/Cayenne", N_("French Guiana (America/Cayenne)")),
    ("Indian/Reunion", N_("La Réunion (Indian/Reunion)")),
    ("Indian/Mayotte", N_("Mayotte (Indian/Mayotte)")),
    ("America/Miquelon", N_("Saint Pierre and Miquelon (America/Miquelon)")),
    ("Pacific/Noumea", N_("New Caledonia (Pacific/Noumea)")),
    ("Pacific/Tahiti", N_("French Polynesia (Pacific/Tahiti)")),
    ("Pacific/Wallis", N_("Wallis and Futuna (Pacific/Wallis)")),
]
WEEKDAYS = [
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
]
# The inputs each consistency check reads: when one of them did not even parse, the check's
# verdict is about a placeholder, so only the parsing error is shown.
CHECK_INPUTS = {
    "applications_close_at": {"applications_open_at", "applications_close_at"},
    "response_deadline": {"applications_open_at", "response_deadline"},
    "live_last_day": {"live_first_day", "live_last_day"},
    "closes": {"opens", "closes"},
    "weekdays": {"weekdays", "live_first_day", "live_last_day"},
}
PRIORITY_LABELS = {
    "declared": N_("Applicants who answered the optional questions"),
    "under_26": N_("Under 26"),
    "senior": N_("Aged 50 or over"),
    "priority_neighbourhood": N_("Living in a priority neighbourhood (QPV)"),
    "rural_area": N_("Living in a rural revitalisation area (FRR, formerly ZRR)"),
    "rsa_beneficiary": N_("Receiving the RSA"),
    "disabled_worker": N_("Recognised disabled workers (RQTH, BOETH)"),
    "long_term_unemployed": N_("Looking for work for 12 months or more"),
    "low_qualified": N_("No diploma or a CAP-BEP (level 3)"),
}
BOOTH_ORDER = (BoothStatus.REQUESTED, BoothStatus.APPROVED, BoothStatus.DECLINED)
MOMENTS = ("applications_open_at", "applications_close_at", "response_deadline")


@page
async def home(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    found = await editions.organised_by(database(request), user)
    rows = [(edition, editions.status_at(edition)) for edition in found]
    return render(request, "organiser/home.html", {"editions": rows})


# The edition form ------------------------------------------------------------------------------


def _read_edition(fields: forms.Fields) -> editions.EditionInput:
    """The submitted settings; parsing errors are collected in `fields`."""
    zone = fields.text("timezone") or DEFAULT_ZONE
    # Read the moments in a known zone; an unknown one is reported by editions.check.
    reading = zone if zone in available_timezones() else DEFAULT_ZONE
    chosen = set(fields.numbers("weekdays", lo=0, hi=len(WEEKDAYS) - 1))
    return editions.EditionInput(
        title=fields.text("title"),
        territory=fields.text("territory"),
        partners=fields.text("partners", multiline=True),
        description=fields.text("description", multiline=True),
        timezone=zone,
        applications_open_at=fields.moment("applications_open_at", reading),
        applications_close_at=fields.moment("applications_close_at", reading),
        response_deadline=fields.moment("response_deadline", reading),
        live_first_day=fields.day("live_first_day"),
        live_last_day=fields.day("live_last_day"),
        opens=fields.clock_time("opens"),
        closes=fields.clock_time("closes"),
        weekdays=frozenset(chosen),
        admission_active_cap=fields.optional_integer(
            "admission_active_cap", lo=1, hi=editions.MAX_ADMISSION_CAP
        ),
        admission_arrivals_per_minute=fields.optional_integer(
            "admission_arrivals_per_minute", lo=1, hi=editions.MAX_ADMISSION_CAP
        ),
    )


def _edition_input(fields: forms.Fields) -> editions.EditionInput:
    """The settings, or Invalid with the parsing errors and the domain's errors together."""
    data = _read_edition(fields)
    unparsed = set(fields.errors)
    if unparsed:
        try:
            editions.check(data)
        except Invalid as error:
            for name, message in error.fields.items():
                if not CHECK_INPUTS.get(name, {name}) & unparsed:
                    fields.errors.setdefault(name, message)
    fields.done()
    return data


def _initial(edition: Edition | None) -> dict[str, Any]:
    """The form's values before any submission: defaults, or the edition's settings."""
    if edition is None:
        weekdays = [str(n) for n in range(6)]  # Monday to Saturday
        return {"timezone": DEFAULT_ZONE, "opens": "09:00", "closes": "17:00", "weekdays": weekdays}
    zone = ZoneInfo(edition.timezone)
    values: dict[str, Any] = {
        "title": edition.title,
        "territory": edition.territory,
        "partners": edition.partners,
        "description": edition.description,
        "timezone": edition.timezone,
        "weekdays": [],
        "admission_active_cap": edition.admission_active_cap or "",
        "admission_arrivals_per_minute": edition.admission_arrivals_per_minute or "",
    }
    for name in MOMENTS:
        values[name] = getattr(edition, name).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    days = edition.live_days
    if days:
        values.update(
            live_first_day=days[0].day.isoformat(),
            live_last_day=days[-1].day.isoformat(),
            opens=days[0].opens.strftime("%H:%M"),
            closes=days[0].closes.strftime("%H:%M"),
            weekdays=sorted({str(d.day.weekday()) for d in days}),
        )
    return values


def _zones(current: str) -> list[tuple[str, str]]:
    options = [(key, gettext(label)) for key, label in ZONES]
    if current and current not in {key for key, _label in ZONES}:
        options.append((current, current))
    return options


def _form_page(
    request: Request, edition: Edition | None, form: forms.FormState, *, status: int = 200
) -> Response:
    context: dict[str, Any] = {
        "edition": edition,
        "form": form,
        "zones": _zones(str(form.get("timezone", ""))),
        "weekdays": WEEKDAYS,
        "admission_defaults": admission.defaults(),
    }
    if edition is not None:
        context["status"] = editions.status_at(edition)
    name = "organiser/edition_form.html"
    return render(request, name, context, status=status)


def _failed(fields: forms.Fields, error: FairError) -> forms.FormState:
    form = forms.state_from(fields, error)
    form.values["weekdays"] = fields.choices("weekdays")
    return form


@page
async def edition_new(request: Request) -> Response:
    user = require_role(request, Role.ORGANISER)
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _edition_input(fields)
            edition = await editions.create(database(request), by=user, data=data)
        except FairError as error:
            return _form_page(request, None, _failed(fields, error), status=error.status)
        flash(request, "The edition was saved.")
        return urls.redirect(request, "edition_edit", edition_id=edition.id)
    return _form_page(request, None, forms.FormState(values=_initial(None)))


@page
async def edition_edit(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _edition_input(fields)
            for name in MOMENTS:
                shown = forms.as_shown(getattr(data, name), getattr(edition, name))
                setattr(data, name, shown)
            await editions.update(database(request), edition, data=data)
            admission_gate.forget()  # its caps, in this process now (others within seconds)
        except FairError as error:
            return _form_page(request, edition, _failed(fields, error), status=error.status)
        flash(request, "The edition was saved.")
        return urls.redirect(request, "edition_edit", edition_id=edition.id)
    return _form_page(request, edition, forms.FormState(values=_initial(edition)))


@page
async def edition_publish(request: Request) -> Response:
    await forms.read(request)
    _user, edition = await organised_edition(request)
    await editions.publish(database(request), edition)
    flash(request, "The edition is published: it is on the home page.")
    return urls.redirect(request, "edition_edit", edition_id=edition.id)


@page
async def edition_archive(request: Request) -> Response:
    await forms.read(request)
    _user, edition = await organised_edition(request)
    await editions.archive(database(request), edition)
    flash(request, "The edition is archived.")
    return urls.redirect(request, "edition_edit", edition_id=edition.id)


# Booths ----------------------------------------------------------------------------------------


async def _booths_page(
    request: Request, edition: Edition, *, error: dict[str, Any] | None = None, status: int = 200
) -> Response:
    booths = await employers.booths_of_edition(database(request), edition)
    groups = [(s, [b for b in booths if b.status == s.value]) for s in BOOTH_ORDER]
    live = editions.open_now(edition)
    context = {
        "edition": edition,
        "groups": groups,
        "error": error or {},
        "form": _decision_form(error) if error else None,
        "live": live,
        # Which approved booths are staffed now; static/live.js keeps it current.
        "staffing": await presence.staffing(database(request), edition.id) if live else {},
    }
    return render(request, "organiser/booths.html", context, status=status)


@page
async def edition_booths(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    return await _booths_page(request, edition)


@page
async def booth_decision(request: Request) -> Response:
    fields = forms.Fields(await forms.read(request))
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    edition = await editions.get(session, booth.edition_id)
    await permissions.require_organiser(session, user, edition)
    decision = fields.text("decision")
    reason = fields.text("reason", max_length=5000, multiline=True)
    try:
        await _decide(session, booth, decision, by=user, reason=reason)
    except Invalid as failure:
        message = failure.fields.get("reason") or failure.message
        error = {"booth_id": booth.id, "message": message, "reason": reason}
        error["field"] = "reason" in failure.fields
        return await _booths_page(request, edition, error=error, status=failure.status)
    if decision == "approve":
        flash(request, "The booth of %(employer)s is approved.", employer=booth.employer.name)
    else:
        flash(request, "The booth of %(employer)s is declined.", employer=booth.employer.name)
    return urls.redirect(request, "edition_booths", edition_id=edition.id)


def _decision_form(error: dict[str, Any]) -> forms.FormState:
    """A refused decision for the error summary: the reason field's error, or the form's."""
    if error["field"]:
        return forms.FormState(errors={f"reason-{error['booth_id']}": error["message"]})
    return forms.FormState(message=error["message"])


async def _decide(
    session: AsyncSession, booth: Booth, decision: str, *, by: User, reason: str
) -> None:
    if decision == "approve":
        await employers.set_status(session, booth, BoothStatus.APPROVED, by=by)
    elif decision == "decline":
        await employers.set_status(session, booth, BoothStatus.DECLINED, by=by, reason=reason)
    else:
        raise Invalid("Choose to approve or to decline the booth.", code="booth.bad_decision")


# Reports and exports ---------------------------------------------------------------------------


@page
async def edition_responses(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    aggregates = await candidates.priority_aggregates(session, edition.id)
    context = {
        "edition": edition,
        "unanswered": await applications.unanswered(session, edition.id),
        "deadline_passed": clock.now() >= edition.response_deadline,
        "offer_count": await offers.count_in_edition(session, edition.id),
        "application_count": await applications.count_in_edition(session, edition.id),
        # Each count stands alone: an applicant may be in several rows, and the answers "no",
        # "prefer not to say" and the other age bands are never shown, so no row is a total
        # minus the others.
        "priority": [
            (label, disclosure.single(aggregates[key])) for key, label in PRIORITY_LABELS.items()
        ],
        "threshold": disclosure.THRESHOLD,
    }
    return render(request, "organiser/responses.html", context)


@page
async def edition_export(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    found = await offers.published_in_edition(database(request), edition.id)
    payload = [francetravail.export_offer(offer, offer.booth.employer) for offer in found]
    headers = {
        "content-disposition": f'attachment; filename="{edition.slug}-offers.json"',
        "cache-control": "private, no-store",
    }
    body = json.dumps(payload, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers=headers)


routes = [
    Route("/organiser", home, name="organiser_home"),
    Route("/organiser/editions/new", edition_new, methods=["GET", "POST"], name="edition_new"),
    Route(
        "/organiser/editions/{edition_id:int}/settings",
        edition_edit,
        methods=["GET", "POST"],
        name="edition_edit",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/publish",
        edition_publish,
        methods=["POST"],
        name="edition_publish",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/archive",
        edition_archive,
        methods=["POST"],
        name="edition_archive",
    ),
    Route("/organiser/editions/{edition_id:int}/booths", edition_booths, name="edition_booths"),
    Route(
        "/organiser/booths/{booth_id:int}/decision",
        booth_decision,
        methods=["POST"],
        name="booth_decision",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/responses",
        edition_responses,
        name="edition_responses",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/offers.json", edition_export, name="edition_export"
    ),
]
