"""The health checks page of an edition (fair.health): what to fix before and during the fair,
each check with links to fix it and, where recruiters can fix it, a button that reminds them by
mail (at most once a day per check)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import health
from fair.errors import Conflict, Invalid, NotFound
from fair.i18n import N_
from fair.models import Edition
from fair.web import forms, urls
from fair.web.auth import database, organised_edition, page, release
from fair.web.flash import flash
from fair.web.templating import render

# Each check's title and what fixing it means, in the page's order (fair.health.CHECKS).
CHECKS: dict[str, tuple[str, str]] = {
    "no_offer": (
        N_("Approved booths with no published offer"),
        N_("Candidates have nothing to apply to at these booths."),
    ),
    "no_slots": (
        N_("Approved booths with no interview slot"),
        N_("Candidates cannot book an interview with these booths."),
    ),
    "no_login": (
        N_("Booths whose recruiters never logged in"),
        N_("Nobody has prepared these booths yet: their recruiters may have missed the mail."),
    ),
    "no_staffing": (
        N_("Live days without staffing planned"),
        N_(
            "Booths with interview slots, but none on some live days still to come: a day is "
            "planned when the booth has at least one slot starting that day. Booths with no slot "
            "at all are in the check above."
        ),
    ),
    "offer_place": (
        N_("Offers without a ROME code or a commune"),
        N_("Candidates searching by job or by place do not find these offers."),
    ),
    "talk_presenter": (
        N_("Talks without a presenter"),
        N_("Their presenters' accounts were closed: choose another presenter."),
    ),
    "talk_hours": (
        N_("Talks outside the live hours"),
        N_("The live days or hours changed after these talks were scheduled: move them."),
    ),
    "pending_booths": (
        N_("Booth requests waiting for more than 3 days"),
        N_("Employers are waiting for your decision."),
    ),
}


async def _health_page(
    request: Request, edition: Edition, *, error: str = "", status: int = 200
) -> Response:
    session = database(request)
    found = await health.run(session, edition)
    context = {
        "edition": edition,
        "checks": [(key, *CHECKS[key], found[key]) for key in health.CHECKS],
        "remindable": health.REMINDABLE,
        "reminders": await health.last_reminders(session, edition.id),
        "error": error,
        "form": forms.FormState(message=error) if error else None,
    }
    return render(request, "organiser/health.html", context, status=status)


@page
async def edition_health(request: Request) -> Response:
    _user, edition = await organised_edition(request)
    return await _health_page(request, edition)


@page
async def health_remind(request: Request) -> Response:
    user, edition = await organised_edition(request)
    check = request.path_params["check"]
    if check not in health.CHECKS:
        raise NotFound("The page you asked for does not exist or was moved.")
    try:
        reminder = await health.remind(database(request), edition=edition, check=check, by=user)
    except (Conflict, Invalid) as error:  # said on the page; a refused permission is an error page
        await release(request)
        return await _health_page(request, edition, error=error.message, status=error.status)
    flash(
        request,
        "The reminder was sent to %(num)s recruiter.",
        plural="The reminder was sent to %(num)s recruiters.",
        num=reminder.recipients,
    )
    return urls.redirect(request, "edition_health", edition_id=edition.id, anchor=check)


routes = [
    Route("/organiser/editions/{edition_id:int}/health", edition_health, name="edition_health"),
    Route(
        "/organiser/editions/{edition_id:int}/health/{check}/remind",
        health_remind,
        methods=["POST"],
        name="health_remind",
    ),
]
