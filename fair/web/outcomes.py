"""Follow-up pages after an edition (fair.outcomes): a booth's recruiters confirm the hires of
the candidates they retained, a candidate says whether they found a job, and the organisers
read the outcomes that count."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import (
    disclosure,
    editions,
    employers,
    outcome_figures,
    outcomes,
    permissions,
)
from fair.enums import Contract, Role
from fair.errors import Invalid, NotFound
from fair.i18n import N_
from fair.models import Booth, Edition, User
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, path_int, release, require_role
from fair.web.flash import flash
from fair.web.templating import render

PUBLIC_LABELS = {
    "under_26": N_("Under 26"),
    "senior": N_("Aged 50 or over"),
    "priority_neighbourhood": N_("Living in a priority neighbourhood (QPV)"),
    "rural_area": N_("Living in a rural revitalisation area (FRR, formerly ZRR)"),
    "rsa_beneficiary": N_("Receiving the RSA"),
    "disabled_worker": N_("Recognised disabled workers (RQTH, BOETH)"),
    "long_term_unemployed": N_("Looking for work for 12 months or more"),
    "low_qualified": N_("No diploma or a CAP-BEP (level 3)"),
}
OTHER = "other"  # the employer choice of a candidate hired outside the edition's booths


def _months(fields: forms.Fields) -> int | None:
    """The contract's length in months, or None when left empty (a CDI)."""
    if not fields.text("months"):
        return None
    return fields.integer("months", lo=0, hi=outcomes.MAX_MONTHS)


def _contracts() -> list[tuple[str, str]]:
    return [(c.value, c.label) for c in Contract]


# The recruiters' follow-up -----------------------------------------------------------------------


async def _member_booth(request: Request) -> tuple[User, Booth, Edition]:
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    booth = await employers.get_booth(session, path_int(request, "booth_id"))
    await permissions.require_booth_member(session, user, booth)
    return user, booth, await editions.get(session, booth.edition_id)


async def _follow_up_page(
    request: Request,
    booth: Booth,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    row: int | None = None,
    status: int = 200,
) -> Response:
    session = database(request)
    context: dict[str, Any] = {
        "booth": booth,
        "edition": edition,
        "rows": await outcomes.to_confirm(session, booth),
        "stage": outcomes.stage_at(edition),
        "ends_at": outcomes.ends_at(edition),
        "contracts": _contracts(),
        "form": form,
        "failed_row": row,
    }
    return render(request, "recruiter/follow_up.html", context, status=status)


@page
async def follow_up(request: Request) -> Response:
    user, booth, edition = await _member_booth(request)
    if request.method != "POST":
        return await _follow_up_page(request, booth, edition)
    fields = forms.Fields(await forms.read(request))
    application_id = fields.identifier("application")
    try:
        answer = outcomes.Answer(
            hired=fields.text("hired") == "yes",
            contract=fields.member("contract", Contract),
            months=_months(fields),
        )
        fields.done()
        assert application_id is not None
        await outcomes.confirm_hire(
            database(request), by=user, application_id=application_id, answer=answer
        )
    except Invalid as error:
        await release(request)
        keyed = {f"{name}-{application_id}": text for name, text in error.fields.items()}
        form = forms.FormState(fields.values(), keyed, error.message, dict(error.params))
        return await _follow_up_page(
            request, booth, edition, form=form, row=application_id, status=error.status
        )
    flash(request, "Your answer is saved.")
    return urls.redirect(
        request, "booth_follow_up", booth_id=booth.id, anchor=f"application-{application_id}"
    )


# The candidates' answer --------------------------------------------------------------------------


async def _candidate_edition(request: Request) -> tuple[User, Edition]:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    if not editions.visible(edition):
        raise NotFound("This edition does not exist.")
    await outcomes.require_participant(session, edition=edition, user=user)
    return user, edition


async def _job_page(
    request: Request,
    user: User,
    edition: Edition,
    *,
    form: forms.FormState | None = None,
    status: int = 200,
) -> Response:
    session = database(request)
    report = await outcomes.report_of(session, edition_id=edition.id, user=user)
    booths = await outcomes.booths_to_choose(session, edition.id)
    context: dict[str, Any] = {
        "edition": edition,
        "report": report,
        "values": _report_values(report),
        "booths": [(str(booth_id), name) for booth_id, name in booths],
        "contracts": _contracts(),
        "stage": outcomes.stage_at(edition),
        "ends_at": outcomes.ends_at(edition),
        "form": form,
        "other": OTHER,
    }
    return render(request, "candidate/job_report.html", context, status=status)


def _report_values(report: Any) -> dict[str, str]:
    """The stored answer as the form shows it."""
    if report is None:
        return {}
    return {
        "found": "yes" if report.found else "no",
        "employer": str(report.booth_id) if report.booth_id else (OTHER if report.found else ""),
        "employer_name": "" if report.booth_id else report.employer_name,
        "contract": report.contract or "",
        "months": "" if report.months is None else str(report.months),
    }


def _job_answer(fields: forms.Fields) -> outcomes.JobAnswer:
    found = fields.text("found")
    if found not in ("yes", "no"):
        fields.errors["found"] = "Say whether you found a job."
    if found != "yes":
        return outcomes.JobAnswer(found=False)
    employer = fields.text("employer")
    booth_id = fields.identifier("employer", required=False) if employer != OTHER else None
    return outcomes.JobAnswer(
        found=True,
        booth_id=booth_id,
        employer_name=fields.text("employer_name", max_length=200),
        contract=fields.member("contract", Contract),
        months=_months(fields),
    )


@page
async def job_report(request: Request) -> Response:
    user, edition = await _candidate_edition(request)
    if request.method != "POST":
        return await _job_page(request, user, edition)
    fields = forms.Fields(await forms.read(request))
    try:
        answer = _job_answer(fields)
        fields.done()
        await outcomes.report_job(database(request), user=user, edition=edition, answer=answer)
    except Invalid as error:
        await release(request)
        form = forms.state_from(fields, error)
        return await _job_page(request, user, edition, form=form, status=error.status)
    flash(request, "Thank you: your answer is saved. You may change it at any time.")
    return urls.redirect(request, "job_report", edition_id=edition.id)


@page
async def my_job_reports(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    rows = await outcomes.ended_editions_of(database(request), user)
    return render(request, "candidate/job_reports.html", {"rows": rows})


# The organisers' outcomes ------------------------------------------------------------------------


@page
async def edition_outcomes(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    figures = await outcome_figures.of_edition(session, edition)
    context: dict[str, Any] = {
        "edition": edition,
        "data": figures,
        "outcomes_summary": figures.summary,
        "public_labels": PUBLIC_LABELS,
        "stages": outcomes.STAGES,
        "ends_at": outcomes.ends_at(edition),
        "stage": outcomes.stage_at(edition),
        "threshold": disclosure.THRESHOLD,
    }
    return render(request, "organiser/outcomes.html", context)


routes = [
    Route(
        "/recruiter/booths/{booth_id:int}/follow-up",
        follow_up,
        methods=["GET", "POST"],
        name="booth_follow_up",
    ),
    Route(
        "/me/editions/{edition_id:int}/job",
        job_report,
        methods=["GET", "POST"],
        name="job_report",
    ),
    Route("/me/jobs", my_job_reports, name="my_job_reports"),
    Route(
        "/organiser/editions/{edition_id:int}/outcomes",
        edition_outcomes,
        name="edition_outcomes",
    ),
]
