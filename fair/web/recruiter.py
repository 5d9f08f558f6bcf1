"""Recruiter pages: employers, booths, offers, imports and exports, the application pipeline."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fair import (
    access_log,
    accounts,
    applications,
    editions,
    employers,
    endorsements,
    files,
    francetravail,
    geo,
    images,
    interviews,
    offers,
    outcomes,
    parse,
    permissions,
    rome,
)
from fair.enums import (
    APPLICATION_TRANSITIONS,
    RECRUITER_MOVES,
    AccessKind,
    ApplicationStatus,
    CompanySize,
    Contract,
    Experience,
    Role,
    WorkingTime,
)
from fair.errors import FairError, Invalid, NotFound
from fair.models import Application, Booth, Employer, Offer, User
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, require_role
from fair.web.candidate import cv_response
from fair.web.flash import flash
from fair.web.interviews import application_context as interview_context
from fair.web.templating import render


def _recruiter(request: Request) -> User:
    return require_role(request, Role.RECRUITER)


# Employers ------------------------------------------------------------------------------------


@page
async def home(request: Request) -> Response:
    user = _recruiter(request)
    session = database(request)
    context = {
        "employers": await employers.of_user(session, user),
        "booths": await employers.booths_of_user(session, user),
        "editions": await editions.published(session),
    }
    return render(request, "recruiter/home.html", context)


def _employer_input(fields: forms.Fields) -> employers.EmployerInput:
    return employers.EmployerInput(
        name=fields.text("name", max_length=200),
        siret=fields.text("siret", max_length=20),
        naf_code=fields.text("naf_code", max_length=10),
        size=fields.text("size"),
        commune=fields.text("commune", max_length=120),
        website=fields.text("website", max_length=300),
        description=fields.text("description", multiline=True),
        video_url=fields.text("video_url", max_length=300),
    )


async def _save_logo(request: Request, fields: forms.Fields, employer: Employer) -> None:
    upload = await fields.upload("logo")
    if upload is None:
        return
    # Checked, then resized to the logo's fixed sizes in WebP and PNG/JPEG (in a thread).
    prepared = await images.prepare(upload[1], images.LOGO, field="logo")
    stored = await images.store(
        database(request), owner_id=request.state.user.id, filename=upload[0], prepared=prepared
    )
    employer.logo_file_id = stored.id


def _employer_context(employer: Employer | None, form: forms.FormState | None) -> dict[str, Any]:
    return {
        "employer": employer,
        "form": form,
        "sizes": [(s.value, s.label) for s in CompanySize],
        "communes": _nearby(employer.commune if employer else ""),
    }


def _nearby(commune: str) -> tuple[geo.Commune, ...]:
    """The communes of `commune`'s département: a form's suggestions (all of France's 35,000
    would weigh a megabyte; any other is typed, by name or postcode)."""
    home = geo.find(commune)
    return geo.in_departement(home.departement) if home else ()


@page
async def employer_new(request: Request) -> Response:
    user = _recruiter(request)
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            employer = await employers.register(
                database(request), by=user, data=_employer_input(fields)
            )
            await _save_logo(request, fields, employer)
        except FairError as error:
            context = _employer_context(None, forms.state_from(fields, error))
            return render(request, "recruiter/employer_form.html", context, status=error.status)
        flash(request, "The employer was saved.")
        return urls.redirect(request, "employer_edit", employer_id=employer.id)
    return render(request, "recruiter/employer_form.html", _employer_context(None, None))


@page
async def employer_edit(request: Request) -> Response:
    user = _recruiter(request)
    session = database(request)
    employer = await employers.get(session, path_int(request, "employer_id"))
    member = await permissions.require_member(session, user, employer.id)
    form = None
    status = 200
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            await permissions.require_member(session, user, employer.id, owner=True)
            await employers.update(session, employer, data=_employer_input(fields))
            await _save_logo(request, fields, employer)
            flash(request, "The employer was saved.")
            return urls.redirect(request, "employer_edit", employer_id=employer.id)
        except FairError as error:
            form, status = forms.state_from(fields, error), error.status
    context = _employer_context(employer, form)
    context.update(
        member=member,
        members=await employers.members(session, employer),
        editions=await editions.published(session),
        booths=[
            b for b in await employers.booths_of_user(session, user) if b.employer_id == employer.id
        ],
    )
    return render(request, "recruiter/employer.html", context, status=status)


@page
async def employer_invite(request: Request) -> Response:
    user = _recruiter(request)
    session = database(request)
    employer = await employers.get(session, path_int(request, "employer_id"))
    fields = forms.Fields(await forms.read(request))
    email = fields.text("email")
    await employers.invite(session, by=user, employer=employer, email=email)
    flash(request, "An invitation was sent to %(email)s.", email=email)
    return urls.redirect(request, "employer_edit", employer_id=employer.id)


@page
async def booth_request(request: Request) -> Response:
    user = _recruiter(request)
    session = database(request)
    employer = await employers.get(session, path_int(request, "employer_id"))
    fields = forms.Fields(await forms.read(request))
    edition_id = fields.identifier("edition_id", required=False)
    if edition_id is None:
        raise NotFound("This edition does not exist.")
    edition = await editions.get(session, edition_id)
    booth = await employers.request_booth(session, by=user, employer=employer, edition=edition)
    flash(
        request,
        "Your booth request was sent to the organisers of %(edition)s.",
        edition=edition.title,
    )
    return urls.redirect(request, "recruiter_booth", booth_id=booth.id)


# Booths and offers ----------------------------------------------------------------------------


async def _booth(request: Request) -> Booth:
    user = _recruiter(request)
    booth = await employers.get_booth(database(request), path_int(request, "booth_id"))
    await permissions.require_booth_member(database(request), user, booth)
    return booth


@page
async def booth_page(request: Request) -> Response:
    booth = await _booth(request)
    session = database(request)
    edition = await editions.get(session, booth.edition_id)
    context = {
        "booth": booth,
        "offers": await offers.of_booth(session, booth),
        "counts": await applications.counts_by_status(session, booth),
        "status": editions.status_at(edition),
        # After the edition: the hires to confirm (fair.outcomes), a task on this page.
        "follow_up": await outcomes.task(session, booth, edition),
    }
    return render(request, "recruiter/booth.html", context)


def _offer_input(fields: forms.Fields) -> offers.OfferInput:
    listed = fields.text("skills", multiline=True).replace(",", "\n").splitlines()
    skills = [parse.line(s) for s in listed]
    return offers.OfferInput(
        title=fields.text("title", max_length=200),
        description=fields.text("description", multiline=True),
        rome_code=fields.text("rome_code", max_length=5).upper(),
        contract=fields.text("contract"),
        working_time=fields.text("working_time"),
        commune=fields.text("commune", max_length=120),
        postcode=fields.text("postcode", max_length=5),
        experience=fields.text("experience"),
        remote=fields.flag("remote"),
        positions=fields.integer("positions", default=1),
        salary=fields.text("salary", max_length=200),
        qualification=fields.text("qualification", max_length=200),
        skills=[s for s in skills if s],
        starts_on=fields.day("starts_on") if fields.text("starts_on") else None,
        insertion_clause=fields.flag("insertion_clause"),
        open_seniors=fields.flag("open_seniors"),
        open_under26=fields.flag("open_under26"),
        open_disabled=fields.flag("open_disabled"),
        no_diploma=fields.flag("no_diploma"),
    )


def _offer_context(
    booth: Booth, offer: Offer | None, form: forms.FormState | None
) -> dict[str, Any]:
    return {
        "booth": booth,
        "offer": offer,
        "form": form,
        "contracts": [(c.value, c.label) for c in Contract],
        "working_times": [(w.value, w.label) for w in WorkingTime],
        "experiences": [(e.value, e.label) for e in Experience],
        "communes": _nearby(booth.employer.commune),
        "jobs": sorted(rome.jobs().values(), key=lambda j: j.code),
    }


@page
async def offer_new(request: Request) -> Response:
    booth = await _booth(request)
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _offer_input(fields)
            fields.done()
            offer = await offers.create(database(request), booth=booth, data=data)
        except FairError as error:
            context = _offer_context(booth, None, forms.state_from(fields, error))
            return render(request, "recruiter/offer_form.html", context, status=error.status)
        flash(request, "The offer “%(title)s” was created.", title=offer.title)
        return urls.redirect(request, "recruiter_booth", booth_id=booth.id)
    return render(request, "recruiter/offer_form.html", _offer_context(booth, None, None))


async def _offer(request: Request) -> Offer:
    user = _recruiter(request)
    session = database(request)
    offer = await offers.get(session, path_int(request, "offer_id"))
    await permissions.require_offer_member(session, user, offer)
    return offer


@page
async def offer_edit(request: Request) -> Response:
    offer = await _offer(request)
    booth = await employers.get_booth(database(request), offer.booth_id)
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _offer_input(fields)
            fields.done()
            await offers.update(database(request), offer, data=data)
        except FairError as error:
            context = _offer_context(booth, offer, forms.state_from(fields, error))
            return render(request, "recruiter/offer_form.html", context, status=error.status)
        flash(request, "The offer “%(title)s” was saved.", title=offer.title)
        return urls.redirect(request, "recruiter_booth", booth_id=booth.id)
    return render(request, "recruiter/offer_form.html", _offer_context(booth, offer, None))


@page
async def offer_publish(request: Request) -> Response:
    offer = await _offer(request)
    fields = forms.Fields(await forms.read(request))
    published = fields.text("published") == "1"
    await offers.set_published(database(request), offer, published)
    if published:
        flash(request, "The offer “%(title)s” is shown to candidates.", title=offer.title)
    else:
        flash(
            request,
            "The offer “%(title)s” is hidden: candidates no longer see it.",
            title=offer.title,
        )
    return urls.redirect(request, "recruiter_booth", booth_id=offer.booth_id)


@page
async def offers_import(request: Request) -> Response:
    booth = await _booth(request)
    fields = forms.Fields(await forms.read(request))
    upload = await fields.upload("file")
    if upload is None:
        raise Invalid("Choose a JSON file to import.", code="import.no_file")
    # Off the event loop: up to max_request_bytes of JSON (nesting refused, not a 500).
    payload = await anyio.to_thread.run_sync(parse.json_document, upload[1])
    created = await francetravail.import_offers(database(request), booth=booth, payload=payload)
    flash(request, "%(num)s offer imported.", plural="%(num)s offers imported.", num=len(created))
    return urls.redirect(request, "recruiter_booth", booth_id=booth.id)


@page
async def offers_export(request: Request) -> Response:
    booth = await _booth(request)
    listed = await offers.of_booth(database(request), booth)
    data = [francetravail.export_offer(o, booth.employer) for o in listed]
    headers = {"content-disposition": f'attachment; filename="offres-stand-{booth.id}.json"'}
    return JSONResponse(data, headers=headers)


# Applications ---------------------------------------------------------------------------------


@page
async def pipeline(request: Request) -> Response:
    booth = await _booth(request)
    session = database(request)
    params = request.query_params
    status = params.get("status", "")
    offer_id = params.get("offer", "")
    if status and status not in {s.value for s in ApplicationStatus}:
        raise Invalid("Choose a status from the list.", code="pipeline.bad_status")
    try:
        chosen = parse.identifier(offer_id) if offer_id else None
    except parse.ParseError as exc:
        raise Invalid("Choose an offer from the list.", code="pipeline.bad_offer") from exc
    rows = await applications.pipeline(
        session,
        booth=booth,
        offer_id=chosen,
        status=ApplicationStatus(status) if status else None,
    )
    context = {
        "booth": booth,
        "rows": rows,
        "offers": await offers.of_booth(session, booth),
        "status": status,
        "offer_id": offer_id,
        "counts": await applications.counts_by_status(session, booth),
        "default_decline": applications.DEFAULT_DECLINE,
        "put_forward": await endorsements.of_applications(session, [a.id for a in rows]),
    }
    return render(request, "recruiter/pipeline.html", context)


@page
async def decline_many(request: Request) -> Response:
    booth = await _booth(request)
    fields = forms.Fields(await forms.read(request))
    ids = fields.identifiers("application")
    user = request.state.user
    message = fields.text("message", multiline=True)
    done = await applications.decline_many(
        database(request), by=user, booth=booth, ids=ids, message=message
    )
    flash(
        request,
        "%(num)s application declined.",
        plural="%(num)s applications declined.",
        num=done,
    )
    return urls.redirect(request, "pipeline", booth_id=booth.id)


async def _member_application(request: Request) -> tuple[Application, Booth]:
    """The application in the path, if the recruiter belongs to its booth's employer."""
    return await applications.of_recruiter(
        database(request), _recruiter(request), path_int(request, "application_id")
    )


@page
async def application_page(request: Request) -> Response:
    application, booth = await _member_application(request)
    current = ApplicationStatus(application.status)
    moves = [
        s
        for s in ApplicationStatus
        if s in APPLICATION_TRANSITIONS[current] and s in RECRUITER_MOVES
    ]
    context = {
        "application": application,
        "booth": booth,
        "moves": moves,
        "current": current,
        "has_mailbox": accounts.has_mailbox(application.candidate),
        "put_forward": (
            await endorsements.of_applications(database(request), [application.id])
        ).get(application.id),
    }
    context.update(await interview_context(database(request), application, booth))
    return render(request, "recruiter/application.html", context)


@page
async def application_status(request: Request) -> Response:
    application, booth = await _member_application(request)
    fields = forms.Fields(await forms.read(request))
    value = fields.text("status")
    if value not in {s.value for s in ApplicationStatus}:
        raise Invalid("Choose a status from the list.", code="application.bad_status")
    if value == ApplicationStatus.INTERVIEW_PROPOSED:
        # Proposing an interview is an invitation the candidate can book, never a bare status:
        # its mail says "choose a time", so there must be something to choose.
        await interviews.invite(database(request), by=request.state.user, application=application)
        flash(request, "The interview is proposed: the candidate can book one of your free slots.")
        return urls.redirect(
            request, "application", application_id=application.id, anchor="interview"
        )
    await applications.set_status(
        database(request),
        application,
        ApplicationStatus(value),
        by=request.state.user,
        message=fields.text("message", max_length=5000, multiline=True),
    )
    flash(
        request,
        "The application's status is now: %(status)s.",
        labels={"status": ApplicationStatus(value).label},
    )
    return urls.redirect(request, "application", application_id=application.id)


@page
async def application_cv(request: Request) -> Response:
    """The application's CV, written in the candidate's access log ("who saw my CV")."""
    application, booth = await _member_application(request)
    if application.cv_file_id is None:
        raise NotFound("This application has no CV.")
    session = database(request)
    stored = await files.get(session, application.cv_file_id)
    user = _recruiter(request)
    employer = await employers.get(session, booth.employer_id)
    await access_log.record(
        session,
        subject_id=application.candidate_id,
        viewer_id=user.id,
        viewer=f"{user.name} ({employer.name})",
        what=AccessKind.APPLICATION_CV,
    )
    return cv_response(stored)


routes = [
    Route("/recruiter", home, name="recruiter_home"),
    Route("/recruiter/employers/new", employer_new, methods=["GET", "POST"], name="employer_new"),
    Route(
        "/recruiter/employers/{employer_id:int}",
        employer_edit,
        methods=["GET", "POST"],
        name="employer_edit",
    ),
    Route(
        "/recruiter/employers/{employer_id:int}/invite",
        employer_invite,
        methods=["POST"],
        name="employer_invite",
    ),
    Route(
        "/recruiter/employers/{employer_id:int}/booths",
        booth_request,
        methods=["POST"],
        name="booth_request",
    ),
    Route("/recruiter/booths/{booth_id:int}", booth_page, name="recruiter_booth"),
    Route(
        "/recruiter/booths/{booth_id:int}/offers/new",
        offer_new,
        methods=["GET", "POST"],
        name="offer_new",
    ),
    Route(
        "/recruiter/booths/{booth_id:int}/import",
        offers_import,
        methods=["POST"],
        name="offers_import",
    ),
    Route("/recruiter/booths/{booth_id:int}/offers.json", offers_export, name="offers_export"),
    Route("/recruiter/booths/{booth_id:int}/applications", pipeline, name="pipeline"),
    Route(
        "/recruiter/booths/{booth_id:int}/applications/decline",
        decline_many,
        methods=["POST"],
        name="decline_many",
    ),
    Route(
        "/recruiter/offers/{offer_id:int}", offer_edit, methods=["GET", "POST"], name="offer_edit"
    ),
    Route(
        "/recruiter/offers/{offer_id:int}/published",
        offer_publish,
        methods=["POST"],
        name="offer_publish",
    ),
    Route("/recruiter/applications/{application_id:int}", application_page, name="application"),
    Route(
        "/recruiter/applications/{application_id:int}/status",
        application_status,
        methods=["POST"],
        name="application_status",
    ),
    Route("/recruiter/applications/{application_id:int}/cv", application_cv, name="application_cv"),
]
