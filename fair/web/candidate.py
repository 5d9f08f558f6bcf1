"""Candidate pages: profile and CV, applying, following applications, notices."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    applications,
    candidates,
    counsellors,
    editions,
    files,
    interviews,
    job_search,
    network_applications,
    notices,
    offers,
    participants,
)
from fair.enums import ApplicationStatus, Qualification, Role
from fair.errors import FairError, Invalid, NotFound
from fair.i18n import gettext
from fair.models import StoredFile, User
from fair.web import forms, job_search_form, urls
from fair.web.auth import database, page, path_int, require_role
from fair.web.flash import flash
from fair.web.templating import render

# The optional priority-public questions (yes, no, or prefer not to say), in the form's order.
PRIORITY_LABELS = {
    "priority_neighbourhood": "Do you live in a priority neighbourhood of the city policy (QPV)?",
    "rural_area": "Do you live in a rural revitalisation area (FRR, formerly ZRR)?",
    "rsa_beneficiary": "Do you receive the RSA (revenu de solidarité active)?",
    "disabled_worker": "Are you a recognised disabled worker (RQTH, or another BOETH status)?",
    "long_term_unemployed": "Have you been looking for work for 12 months or more?",
}


def cv_response(stored: StoredFile) -> Response:
    """A stored PDF, sent as a download that the browser may show but never sniff."""
    headers = {
        "content-disposition": f'inline; filename="{stored.filename}"',
        "cache-control": "private, no-store",
        "content-security-policy": "default-src 'none'; sandbox",
    }
    return Response(stored.data, media_type="application/pdf", headers=headers)


async def _profile_context(
    request: Request, form: forms.FormState | None = None, contracts: list[str] | None = None
) -> dict[str, Any]:
    session = database(request)
    user = require_role(request, Role.CANDIDATE)
    profile = await candidates.profile(session, user)
    declared = await candidates.declaration(session, user)
    cv = await files.get(session, profile.cv_file_id) if profile.cv_file_id else None
    search = job_search_form.shown(await job_search.of(session, user.id))
    if contracts is not None:  # a refused form shows the boxes as they were ticked
        search["values"]["contracts"] = contracts
    return {
        "profile": profile,
        "cv": cv,
        "declared": declared,
        "form": form,
        "search": search,
        "followers": await counsellors.followers(session, user),
    }


@page
async def profile_page(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    if request.method == "POST":
        session = database(request)
        fields = forms.Fields(await forms.read(request))
        try:
            wanted = job_search_form.read(fields)
            await _update_profile(session, user, fields)
            await job_search.update(session, user, wanted=wanted)
            upload = await fields.upload("cv")
            if upload:
                await candidates.set_cv(session, user, filename=upload[0], data=upload[1])
        except FairError as error:
            state = forms.state_from(fields, error)
            context = await _profile_context(request, state, fields.choices("contracts"))
            return render(request, "candidate/profile.html", context, status=error.status)
        flash(request, "Your profile is saved.")
        return urls.redirect(request, "profile")
    return render(request, "candidate/profile.html", await _profile_context(request))


async def _update_profile(session: AsyncSession, user: User, fields: forms.Fields) -> None:
    """The profile's own fields, with the job search's field errors (already collected in
    `fields`) shown beside the profile's in one refusal."""
    data = candidates.ProfileInput(
        name=fields.text("name"),
        phone=fields.text("phone"),
        commune=fields.text("commune"),
        wanted_jobs=fields.text("wanted_jobs", multiline=True),
    )
    try:
        await candidates.update(session, user, data=data)
    except Invalid as error:
        error.fields = fields.errors | error.fields
        raise
    fields.done()


async def _priority_context(
    request: Request, form: forms.FormState | None = None
) -> dict[str, object]:
    user = require_role(request, Role.CANDIDATE)
    found = await candidates.declaration(database(request), user)
    return {
        "declared": found,
        "answers": candidates.answers_of(found),
        "questions": PRIORITY_LABELS,
        "qualifications": [(q.value, gettext(q.label)) for q in Qualification],
        "form": form,
    }


def _priority_answers(fields: forms.Fields) -> candidates.PriorityAnswers:
    birth = fields.text("birth_year")
    return candidates.PriorityAnswers(
        **{name: fields.answer(name) for name in PRIORITY_LABELS},
        qualification=fields.member("qualification", Qualification),
        birth_year=fields.integer("birth_year", lo=1, hi=9999) if birth else None,
    )


@page
async def priority_page(request: Request) -> Response:
    """The optional priority-public answers, on a form of their own: the candidate's only."""
    user = require_role(request, Role.CANDIDATE)
    if request.method != "POST":
        context = await _priority_context(request)
        return render(request, "candidate/priority.html", context)
    fields = forms.Fields(await forms.read(request))
    try:
        answers = _priority_answers(fields)
        fields.done()
        consent = fields.flag("consent")
        await candidates.declare(database(request), user, consent=consent, answers=answers)
    except FairError as error:
        context = await _priority_context(request, forms.state_from(fields, error))
        return render(request, "candidate/priority.html", context, status=error.status)
    flash(request, "Your answers are saved." if consent else "No answer is kept.")
    return urls.redirect(request, "profile")


@page
async def my_cv(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    profile = await candidates.profile(session, user)
    if profile.cv_file_id is None:
        raise NotFound("You have not added a CV yet.")
    return cv_response(await files.get(session, profile.cv_file_id))


@page
async def apply(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    offer = await offers.get_public(session, path_int(request, "offer_id"))
    fields = forms.Fields(await forms.read(request))
    try:
        upload = await fields.upload("cv")
        if upload:
            await candidates.set_cv(session, user, filename=upload[0], data=upload[1])
        message = fields.text("message", max_length=5000, multiline=True)
        await applications.apply(session, candidate=user, offer=offer, message=message)
    except FairError as error:
        edition = await editions.get(session, offer.edition_id)
        profile = await candidates.profile(session, user)
        mine = await applications.of_offer_for(session, user, offer.id)
        context = {
            "offer": offer,
            "edition": edition,
            "employer": offer.booth.employer,
            "applications_open": editions.applications_open(edition),
            "applied": False,
            "withdrawn": mine if mine is not None and applications.withdrawn(mine) else None,
            "has_cv": profile.cv_file_id is not None,
            "rome_domain": "",
            "jsonld": "{}",
            "form": forms.state_from(fields, error),
        }
        return render(request, "public/offer.html", context, status=error.status)
    flash(request, "Your application has been sent.")
    return urls.redirect(request, "my_applications")


@page
async def my_applications(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    rows = await applications.of_candidate(session, user)
    network = await network_applications.of_candidate(session, user)
    return render(request, "candidate/applications.html", {"rows": rows, "network": network})


@page
async def withdraw(request: Request) -> Response:
    """Withdrawing asks first (a page, no JavaScript needed), then says it was done."""
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    application = await applications.of_owner(session, user, path_int(request, "application_id"))
    if request.method != "POST":
        edition = await editions.get(session, application.edition_id)
        context = {
            "application": application,
            "status": ApplicationStatus(application.status),
            "applications_open": editions.applications_open(edition),
        }
        return render(request, "candidate/withdraw.html", context)
    await forms.read(request)
    await applications.set_status(session, application, ApplicationStatus.WITHDRAWN, by=user)
    await interviews.application_withdrawn(session, application=application)
    flash(request, "Your application to “%(offer)s” was withdrawn.", offer=application.offer.title)
    return urls.redirect(request, "my_applications")


@page
async def notices_page(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE, Role.RECRUITER, Role.ORGANISER, Role.COUNSELLOR)
    session = database(request)
    listed = await notices.for_user(session, user.id)
    if request.method == "POST":
        await forms.read(request)
        await notices.mark_all_read(session, user.id)
        return urls.redirect(request, "notices")
    return render(request, "candidate/notices.html", {"notices": listed})


@page
async def take_part(request: Request) -> Response:
    """A candidate registers to an edition from its page (they would be on their first step
    anyway: this tells the organisers early, and the page then says so)."""
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    await participants.register(session, edition_id=edition.id, user=user)
    flash(request, "You are registered for this edition.")
    return urls.redirect(request, "edition", slug=edition.slug)


routes = [
    Route("/e/{slug}/take-part", take_part, methods=["POST"], name="take_part"),
    Route("/me/profile", profile_page, methods=["GET", "POST"], name="profile"),
    Route("/me/profile/support", priority_page, methods=["GET", "POST"], name="priority_publics"),
    Route("/me/cv", my_cv, name="my_cv"),
    Route("/offers/{offer_id:int}/apply", apply, methods=["POST"], name="apply"),
    Route("/me/applications", my_applications, name="my_applications"),
    Route(
        "/me/applications/{application_id:int}/withdraw",
        withdraw,
        methods=["GET", "POST"],
        name="withdraw",
    ),
    Route("/me/notices", notices_page, methods=["GET", "POST"], name="notices"),
]
