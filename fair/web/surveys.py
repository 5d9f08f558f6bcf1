"""The satisfaction survey's pages (fair.surveys): the form a candidate or recruiter of an
edition answers once it is over, and its results for the edition's organisers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import clock, disclosure, editions, i18n, parse, surveys
from fair.disclosure import THRESHOLD
from fair.enums import Role
from fair.errors import FairError
from fair.i18n import N_, gettext
from fair.models import Edition, SurveyAnswer, User
from fair.web import charts, forms, urls
from fair.web.auth import (
    database,
    organised_edition,
    page,
    release,
    require_user,
)
from fair.web.flash import flash
from fair.web.templating import render

# The score questions, worded for each role (the contacts are with the other side).
QUESTIONS: dict[str, dict[Role, str]] = {
    "overall": {
        Role.CANDIDATE: N_("Overall, how satisfied are you with this edition?"),
        Role.RECRUITER: N_("Overall, how satisfied are you with this edition?"),
    },
    "ease": {
        Role.CANDIDATE: N_("How easy was the platform to use?"),
        Role.RECRUITER: N_("How easy was the platform to use?"),
    },
    "contacts": {
        Role.CANDIDATE: N_("How useful were your contacts with recruiters?"),
        Role.RECRUITER: N_("How useful were your contacts with candidates?"),
    },
    "organisation": {
        Role.CANDIDATE: N_("How well was the edition organised?"),
        Role.RECRUITER: N_("How well was the edition organised?"),
    },
}
SCALE_LABELS = {
    1: N_("1 – very poor"),
    2: N_("2 – poor"),
    3: N_("3 – fair"),
    4: N_("4 – good"),
    5: N_("5 – very good"),
}
ROLE_TITLES = {Role.CANDIDATE: N_("Candidates"), Role.RECRUITER: N_("Recruiters")}


# The form --------------------------------------------------------------------------------------


def _read(fields: forms.Fields) -> surveys.SurveyInput:
    """The submitted answers; parsing errors are collected in `fields` (the domain checks the
    range of the scores and the comment's length)."""
    data = surveys.SurveyInput(
        recommend=fields.answer("recommend"),
        comment=fields.text("comment", multiline=True, max_length=surveys.COMMENT_MAX),
    )
    for name in surveys.SCORES:
        raw = fields.text(name)
        if raw:
            try:
                setattr(data, name, parse.integer(raw, lo=1, hi=5))
            except parse.ParseError:
                fields.errors[name] = "Choose a score from 1 to 5."
    return data


def _initial(found: SurveyAnswer | None) -> dict[str, Any]:
    if found is None:
        return {}
    values: dict[str, Any] = {name: str(getattr(found, name) or "") for name in surveys.SCORES}
    values["recommend"] = {True: "yes", False: "no", None: "unsaid"}[found.recommend]
    values["comment"] = found.comment
    return values


async def _survey_page(
    request: Request,
    edition: Edition,
    user: User,
    form: forms.FormState | None = None,
    *,
    status: int = 200,
) -> Response:
    session = database(request)
    role, _booth = await surveys.respondent(session, edition, user)
    found = await surveys.answer_of(session, edition.id, user)
    now = clock.now()
    context = {
        "edition": edition,
        "role": role,
        "answer": found,
        "questions": [(name, QUESTIONS[name][role]) for name in surveys.SCORES],
        "scale": SCALE_LABELS,
        "form": form or forms.FormState(values=_initial(found)),
        "opens_at": surveys.opens_at(edition),
        "closes_at": surveys.closes_at(edition),
        "phase": "before"
        if now < surveys.opens_at(edition)
        else ("open" if now < surveys.closes_at(edition) else "closed"),
        "comment_max": surveys.COMMENT_MAX,
    }
    return render(request, "surveys/answer.html", context, status=status)


@page
async def survey(request: Request) -> Response:
    user = require_user(request)
    session = database(request)
    edition = await editions.by_slug(session, request.path_params["slug"])
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _read(fields)
            fields.done()
            await surveys.answer(session, edition=edition, user=user, data=data)
        except FairError as error:
            await release(request)
            return await _survey_page(
                request, edition, user, forms.state_from(fields, error), status=error.status
            )
        flash(request, "Thank you: your answer is saved.")
        return urls.redirect(request, "survey", slug=edition.slug)
    return await _survey_page(request, edition, user)


# The results -----------------------------------------------------------------------------------


def _chart(result: surveys.RoleResults, question: surveys.QuestionResult) -> charts.Chart:
    """A question's distribution of scores for one role, as bars (hidden counts not drawn)."""
    labels = [gettext(SCALE_LABELS[score]) for score in surveys.SCALE] + [gettext("No answer")]
    items = [
        charts.Item(label, cell.value, cell.shown)
        for label, cell in zip(labels, question.listing.cells, strict=True)
    ]
    total = question.listing.total
    if not total.shown:
        summary = gettext("Fewer than %(min)s answers: the counts are hidden.", min=THRESHOLD)
    elif question.mean is not None:
        summary = gettext(
            "%(num)s answers; mean score %(mean)s out of 5.",
            num=total.value,
            mean=i18n.decimal(question.mean),
        )
    else:
        summary = gettext(
            "%(num)s answers; some counts are hidden, so no mean is shown.", num=total.value
        )
    title = gettext(QUESTIONS[question.key][result.role])
    columns = (gettext("Score"), gettext("People"))
    return charts.bars(title, items, summary=summary, columns=columns)


@page
async def edition_satisfaction(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    session = database(request)
    found = await surveys.results(session, edition.id)
    sent = await surveys.mailing(session, edition.id)
    context = {
        "edition": edition,
        "results": found,
        "charts": {r.role: [_chart(r, q) for q in r.questions] for r in found},
        "mailing": sent,
        "invited": disclosure.single(sent.recipients) if sent is not None else None,
        "questions": QUESTIONS,
        "role_titles": ROLE_TITLES,
        "opens_at": surveys.opens_at(edition),
        "closes_at": surveys.closes_at(edition),
        "threshold": disclosure.THRESHOLD,
    }
    return render(request, "organiser/satisfaction.html", context)


routes = [
    Route("/e/{slug}/survey", survey, methods=["GET", "POST"], name="survey"),
    Route(
        "/organiser/editions/{edition_id:int}/satisfaction",
        edition_satisfaction,
        name="edition_satisfaction",
    ),
]
