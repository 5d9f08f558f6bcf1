"""Interview booking pages (fair.interviews): the recruiter's slots and agenda, proposing and
booking from an application, the candidate's invitations and interviews, the interview page,
and the organiser's booking rules with their figures.

Everything works without JavaScript: forms post, then redirect back. A refused form is shown
again with its errors and the error's status (so the `page` decorator rolls the transaction
back); what a failed booking offers instead is read from the exception (SlotTaken), never from
rows of the rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import applications, clock, editions, employers, interviews, parse, permissions, settings
from fair.enums import (
    InterviewMode,
    InterviewOutcome,
    InterviewStatus,
    Role,
)
from fair.errors import Conflict, FairError, Forbidden, Invalid, NotFound
from fair.i18n import N_
from fair.models import (
    Application,
    Booth,
    CalendarFeed,
    Edition,
    Interview,
    InterviewInvitation,
    InterviewSlot,
    User,
)
from fair.web import forms, urls
from fair.web.auth import database, page, path_int, release, require_role, require_user
from fair.web.flash import flash
from fair.web.templating import render

T = TypeVar("T")
# Domain errors without `fields` that still belong to one input of the form.
FIELD_OF_CODE = {
    "interview.bad_mode": "mode",
    "interview.bad_staff": "staff_id",
    "interview.bad_slot": "slot",
    "interview.slot_taken": "slot",
}
# A booking refusal (interviews.booking_refusal) as the recruiter reads it.
FOR_RECRUITER = {
    "interview.limit_booth": N_(
        "This candidate has as many interviews planned with you as the fair allows."
    ),
    "interview.limit_total": N_(
        "This candidate has as many interviews planned as the fair allows."
    ),
}
# The templates read labels from these.
ENUMS = {
    "InterviewMode": InterviewMode,
    "InterviewOutcome": InterviewOutcome,
    "InterviewStatus": InterviewStatus,
}


def _by_day(
    items: Iterable[T], zone: str, at: Callable[[T], datetime]
) -> list[tuple[date, list[T]]]:
    """Items (sorted by time) grouped by their day in `zone`."""
    tz = ZoneInfo(zone)
    days: dict[date, list[T]] = {}
    for item in items:
        days.setdefault(at(item).astimezone(tz).date(), []).append(item)
    return list(days.items())


def _choices(slots: Iterable[InterviewSlot | interviews.Choice]) -> list[interviews.Choice]:
    """Free slots as plain values, one per (time, modes): colleagues' twin slots are one choice."""
    seen: set[tuple[datetime, datetime, tuple[InterviewMode, ...]]] = set()
    found = []
    for slot in slots:
        choice = (
            slot
            if isinstance(slot, interviews.Choice)
            else interviews.Choice(
                slot.id, slot.starts_at, slot.ends_at, tuple(interviews.slot_modes(slot))
            )
        )
        twin = (choice.starts_at, choice.ends_at, choice.modes)
        if twin not in seen:
            seen.add(twin)
            found.append(choice)
    return found


def _modes_of(choices: Iterable[interviews.Choice]) -> list[InterviewMode]:
    offered = {m for c in choices for m in c.modes}
    return [m for m in InterviewMode if m in offered]


def _local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def _state(
    fields: forms.Fields, error: FairError, *, suffix: str = "", keep: Iterable[str] = ()
) -> forms.FormState:
    """A refused form to show again: its values and its errors, keyed `name-suffix` when the
    page holds several forms with the same fields."""
    state = forms.state_from(fields, error)
    errors = dict(state.errors)
    if error.code in FIELD_OF_CODE and not errors:
        errors[FIELD_OF_CODE[error.code]] = error.message
    state.errors = {f"{k}-{suffix}" if suffix else k: v for k, v in errors.items()}
    for name in keep:
        state.values[name] = fields.choices(name)
    return state


def _mode(fields: forms.Fields, name: str = "mode") -> InterviewMode:
    try:
        return InterviewMode(fields.text(name))
    except ValueError:
        fields.errors[name] = "Choose how to hold the interview."
        return InterviewMode.PHONE


def _slot_id(fields: forms.Fields, name: str = "slot") -> int:
    try:
        return parse.identifier(fields.text(name))
    except parse.ParseError:
        fields.errors[name] = "Choose a time slot."
        return 0


# Recruiters: availability and agenda ------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    """One slot of the agenda with what happens in it (the active or the recorded interview)."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    modes: list[InterviewMode]
    staff: str
    interview: Interview | None
    candidate: str
    started: bool
    changeable: bool  # before the edition's cut-off for moving or cancelling


async def _agenda(
    session: AsyncSession, booth: Booth, team: list[tuple[User, bool]]
) -> list[AgendaRow]:
    """Every slot with its active interview, else the one recorded (held, no-show); names from
    the team and the booth's applications, so the query count does not grow with the slots."""
    rows = await interviews.slots_of_booth(session, booth.id)
    recorded = {
        i.slot_id: i
        for i in await interviews.of_booth(session, booth.id)
        if i.status in (InterviewStatus.HELD, InterviewStatus.NO_SHOW)
    }
    staff = {u.id: u.name for u, _owner in team}
    people = {
        a.candidate_id: a.candidate.name for a in await applications.pipeline(session, booth=booth)
    }
    rules = await interviews.booking_rules(session, booth.edition_id)
    cutoff = timedelta(minutes=rules.cancel_cutoff_minutes)
    now = clock.now()
    agenda = []
    for slot, active in rows:
        interview = active or recorded.get(slot.id)
        if slot.staff_id not in staff:  # someone who left the team since
            former = await session.get(User, slot.staff_id)
            staff[slot.staff_id] = former.name if former else ""
        agenda.append(
            AgendaRow(
                slot_id=slot.id,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                modes=interviews.slot_modes(slot),
                staff=staff[slot.staff_id],
                interview=interview,
                candidate=people.get(interview.candidate_id, "") if interview else "",
                started=slot.starts_at <= now,
                changeable=now <= slot.starts_at - cutoff,
            )
        )
    return agenda


def _availability_defaults(user: User, edition: Edition) -> dict[str, Any]:
    today = _local_day(clock.now(), edition.timezone)
    days = [d for d in edition.live_days if d.day >= today] or list(edition.live_days)
    first = days[0] if days else None
    return {
        "day": first.day.isoformat() if first else "",
        "start": first.opens.strftime("%H:%M") if first else "09:00",
        "end": first.closes.strftime("%H:%M") if first else "12:00",
        "length_minutes": "30",
        "buffer_minutes": "10",
        "modes": [m.value for m in InterviewMode],
        "staff_id": str(user.id),
    }


async def _booth_page(
    request: Request,
    user: User,
    booth: Booth,
    form: forms.FormState | None = None,
    *,
    status: int = 200,
) -> Response:
    session = database(request)
    edition = await editions.get(session, booth.edition_id)
    team = await employers.members(session, booth.employer)
    context = {
        "booth": booth,
        "edition": edition,
        "zone": edition.timezone,
        "form": form or forms.FormState(values=_availability_defaults(user, edition)),
        "staff": [(u.id, u.name) for u, _owner in team],
        "modes": list(InterviewMode),
        "outcomes": list(InterviewOutcome),
        "days": _by_day(
            await _agenda(session, booth, team), edition.timezone, lambda r: r.starts_at
        ),
        **ENUMS,
    }
    return render(request, "interviews/booth.html", context, status=status)


def _availability_input(fields: forms.Fields) -> interviews.AvailabilityInput:
    modes = {m for m in InterviewMode if m.value in fields.choices("modes")}
    data = interviews.AvailabilityInput(
        day=fields.day("day"),
        start=fields.clock_time("start"),
        end=fields.clock_time("end"),
        length_minutes=fields.integer("length_minutes"),
        buffer_minutes=fields.integer("buffer_minutes"),
        modes=frozenset(modes),
        staff_id=fields.identifier("staff_id") or 0,
    )
    fields.done()
    return data


@page
async def booth_interviews(request: Request) -> Response:
    """The booth's interviews: publish availability, and the agenda of every slot."""
    user = require_role(request, Role.RECRUITER)
    booth = await interviews.rules.booth_of_staff(
        database(request), user, path_int(request, "booth_id")
    )
    if request.method != "POST":
        return await _booth_page(request, user, booth)
    fields = forms.Fields(await forms.read(request))
    try:
        created = await interviews.publish_availability(
            database(request), by=user, booth=booth, data=_availability_input(fields)
        )
    except FairError as error:
        form = _state(fields, error, keep=["modes"])
        await release(request)
        return await _booth_page(request, user, booth, form, status=error.status)
    flash(request, "%(num)s slot published.", plural="%(num)s slots published.", num=len(created))
    return urls.redirect(request, "booth_interviews", booth_id=booth.id, anchor="agenda")


@page
async def slot_withdraw(request: Request) -> Response:
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    slot = await interviews.get_slot(session, path_int(request, "slot_id"))
    await interviews.withdraw_slot(session, by=user, slot=slot)
    flash(request, "The slot was withdrawn.")
    return urls.redirect(request, "booth_interviews", booth_id=slot.booth_id, anchor="agenda")


@page
async def interview_record(request: Request) -> Response:
    """After its start: held (with an outcome) or no-show."""
    user = require_role(request, Role.RECRUITER)
    session = database(request)
    interview = await interviews.get(session, path_int(request, "interview_id"))
    fields = forms.Fields(await forms.read(request))
    attended = fields.text("attended") == "yes"
    outcome = None
    if attended:
        try:
            outcome = InterviewOutcome(fields.text("outcome"))
        except ValueError:
            raise Invalid("Choose what comes next.", code="interview.bad_outcome") from None
    await interviews.record(
        session, by=user, interview=interview, attended=attended, outcome=outcome
    )
    flash(request, "The interview was recorded.")
    return urls.redirect(request, "booth_interviews", booth_id=interview.booth_id, anchor="agenda")


# Recruiters: from an application -----------------------------------------------------------------


async def application_context(
    session: AsyncSession, application: Application, booth: Booth
) -> dict[str, Any]:
    """What the recruiter's application page shows of interviews (interviews/_application.html)."""
    invitation = await interviews.open_invitation(session, application.id)
    can_invite = interviews.rules.may_invite(application, invitation)
    context: dict[str, Any] = {
        "invitation": invitation,
        "interview_zone": booth.edition.timezone,
        "can_invite": can_invite,
        "invited_interview": None,
        "bookable": [],
        "interview_rules": await interviews.booking_rules(session, booth.edition_id),
        # What the candidate would be told now (the same answer as their booking's).
        "interview_refusal": _for_recruiter(
            await interviews.rules_refusal(
                session, candidate_id=application.candidate_id, booth_id=booth.id
            )
            if can_invite
            else None
        ),
        "interview_modes": list(InterviewMode),
        **ENUMS,
    }
    if invitation is not None:
        context["invited_interview"] = next(
            (
                i
                for i in await interviews.of_candidate(session, application.candidate)
                if i.invitation_id == invitation.id and InterviewStatus(i.status).active
            ),
            None,
        )
        if context["invited_interview"] is None:
            refusal = await interviews.booking_refusal(session, invitation)
            context["interview_refusal"] = _for_recruiter(refusal)
            team = {u.id: u.name for u, _o in await employers.members(session, booth.employer)}
            context["bookable"] = (
                []
                if refusal
                else [
                    (_choices([slot])[0], team.get(slot.staff_id, ""))
                    for slot in await interviews.free_slots(session, booth.id)
                ]
            )
    return context


def _for_recruiter(refusal: interviews.Refusal | None) -> interviews.Refusal | None:
    """A booking refusal in the recruiter's words."""
    if refusal is None:
        return None
    return replace(refusal, message=FOR_RECRUITER.get(refusal.code, refusal.message))


async def _application(request: Request) -> tuple[User, Application]:
    """The recruiter and the application in the path (applications.of_recruiter: its booth's
    recruiters only)."""
    user = require_role(request, Role.RECRUITER)
    application, _booth = await applications.of_recruiter(
        database(request), user, path_int(request, "application_id")
    )
    return user, application


@page
async def application_invite(request: Request) -> Response:
    user, application = await _application(request)
    await interviews.invite(database(request), by=user, application=application)
    flash(request, "The interview is proposed: the candidate can book one of your free slots.")
    return urls.redirect(request, "application", application_id=application.id, anchor="interview")


@page
async def application_book(request: Request) -> Response:
    """A recruiter books a slot for the candidate, who then confirms it."""
    user, application = await _application(request)
    session = database(request)
    invitation = await interviews.open_invitation(session, application.id)
    if invitation is None:
        raise Conflict("Propose an interview first.", code="interview.no_invitation")
    fields = forms.Fields(await forms.read(request))
    slot_id, mode = _slot_id(fields), _mode(fields)
    fields.done()
    slot = await interviews.get_slot(session, slot_id)
    await interviews.book(session, by=user, invitation=invitation, slot=slot, mode=mode)
    flash(request, "The slot is booked for the candidate, who is asked to confirm it.")
    return urls.redirect(request, "application", application_id=application.id, anchor="interview")


# Candidates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoothInfo:
    employer: str
    zone: str
    release_at: datetime | None
    cutoff: timedelta


@dataclass
class InvitationCard:
    """One open invitation on the candidate's page, with its booking form."""

    invitation: InterviewInvitation
    offer: str
    booth: BoothInfo
    current: Interview | None
    choices: list[interviews.Choice] = field(default_factory=list)
    form: forms.FormState | None = None
    taken: bool = False
    refusal: interviews.Refusal | None = None  # why booking cannot succeed now: no form

    @property
    def days(self) -> list[tuple[date, list[interviews.Choice]]]:
        return _by_day(self.choices, self.booth.zone, lambda c: c.starts_at)

    @property
    def modes(self) -> list[InterviewMode]:
        return _modes_of(self.choices)


@dataclass(frozen=True)
class Failed:
    """A refused booking, to show again on its invitation's card."""

    invitation_id: int
    form: forms.FormState
    alternatives: list[interviews.Choice] | None  # set when the slot was taken


class BoothCache:
    """Employer name, time zone and rules of each booth a page shows, read once per booth."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.found: dict[int, BoothInfo] = {}

    async def get(self, booth_id: int) -> BoothInfo:
        if booth_id not in self.found:
            booth = await employers.get_booth(self.session, booth_id)
            rules = await interviews.booking_rules(self.session, booth.edition_id)
            release = (
                rules.release_at if rules.release_at and rules.release_at > clock.now() else None
            )
            self.found[booth_id] = BoothInfo(
                booth.employer.name,
                booth.edition.timezone,
                release,
                timedelta(minutes=rules.cancel_cutoff_minutes),
            )
        return self.found[booth_id]


def _changeable(interview: Interview, info: BoothInfo) -> bool:
    """Whether the interview may still be moved or cancelled (before the edition's cut-off)."""
    return clock.now() <= interview.starts_at - info.cutoff


async def _mine_page(
    request: Request, user: User, failed: Failed | None = None, *, status: int = 200
) -> Response:
    session = database(request)
    booths = BoothCache(session)
    listed = await interviews.of_candidate(session, user)
    offers = {a.id: a.offer.title for a, _name in await applications.of_candidate(session, user)}
    cards = []
    for invitation in await interviews.invitations_of(session, user):
        card = InvitationCard(
            invitation=invitation,
            offer=offers.get(invitation.application_id, ""),
            booth=await booths.get(invitation.booth_id),
            current=next(
                (
                    i
                    for i in listed
                    if i.invitation_id == invitation.id and InterviewStatus(i.status).active
                ),
                None,
            ),
        )
        alternatives = None
        if failed is not None and failed.invitation_id == invitation.id:
            card.form, alternatives = failed.form, failed.alternatives
            card.taken = alternatives is not None
        if card.current is None:
            card.refusal = await interviews.booking_refusal(session, invitation)
        if card.current is None and card.refusal is None:
            card.choices = _choices(
                alternatives
                if alternatives is not None
                else await interviews.free_slots(session, invitation.booth_id)
            )
        cards.append(card)
    rows = [(i, await booths.get(i.booth_id)) for i in listed]
    feed = await session.get(CalendarFeed, user.id)
    # A slot offered from the waiting list: the candidate picks how to hold it when accepting.
    offered_modes = {
        i.id: interviews.slot_modes(await interviews.get_slot(session, i.slot_id))
        for i in listed
        if i.status == InterviewStatus.OFFERED
    }
    context = {
        "cards": cards,
        "rows": rows,
        "offered_modes": offered_modes,
        "changeable": _changeable,
        "local_day": _local_day,
        "feed_url": f"{settings.get().base_url}/calendar/{feed.token}.ics" if feed else "",
        **ENUMS,
    }
    return render(request, "interviews/mine.html", context, status=status)


@page
async def my_interviews(request: Request) -> Response:
    return await _mine_page(request, require_role(request, Role.CANDIDATE))


async def _own_invitation(request: Request) -> tuple[User, InterviewInvitation]:
    """The candidate and the invitation in the path (interviews.rules: theirs only)."""
    user = require_role(request, Role.CANDIDATE)
    invitation = await interviews.get_invitation(
        database(request), path_int(request, "invitation_id")
    )
    interviews.rules.require_own_invitation(user, invitation)
    return user, invitation


@page
async def invitation_book(request: Request) -> Response:
    user, invitation = await _own_invitation(request)
    session = database(request)
    fields = forms.Fields(await forms.read(request))
    try:
        slot_id, mode = _slot_id(fields), _mode(fields)
        accommodation = fields.text("accommodation", multiline=True)
        fields.done()
        slot = await interviews.get_slot(session, slot_id)
        await interviews.book(
            session,
            by=user,
            invitation=invitation,
            slot=slot,
            mode=mode,
            accommodation=accommodation,
        )
    except FairError as error:
        if isinstance(error, NotFound | Forbidden):
            raise
        alternatives = error.alternatives if isinstance(error, interviews.SlotTaken) else None
        form = _state(fields, error, suffix=str(invitation.id))
        failed = Failed(invitation.id, form, alternatives)
        await release(request)  # the slot's lock goes before the page is read and rendered
        return await _mine_page(request, user, failed, status=error.status)
    flash(request, "Your interview is booked. You will receive a confirmation by e-mail.")
    return urls.redirect(request, "my_interviews", anchor="interviews")


@page
async def waitlist_join(request: Request) -> Response:
    user, invitation = await _own_invitation(request)
    await interviews.join_waitlist(database(request), candidate=user, invitation=invitation)
    flash(
        request,
        "You are on the waiting list: if a slot is freed, it is offered to you by e-mail.",
    )
    return urls.redirect(request, "my_interviews", anchor=f"invitation-{invitation.id}")


@page
async def waitlist_leave(request: Request) -> Response:
    user, invitation = await _own_invitation(request)
    await interviews.leave_waitlist(database(request), candidate=user, invitation=invitation)
    flash(request, "You left the waiting list.")
    return urls.redirect(request, "my_interviews", anchor=f"invitation-{invitation.id}")


@page
async def calendar_link(request: Request) -> Response:
    """Make the candidate's private calendar feed (its address is then shown on the page)."""
    user = require_role(request, Role.CANDIDATE)
    await interviews.feed_token(database(request), user)
    flash(request, "Your calendar link is ready below.")
    return urls.redirect(request, "my_interviews", anchor="calendar")


# The interview page (both participants) ------------------------------------------------------


async def _participant(request: Request) -> tuple[User, Interview, bool]:
    """The interview in the path and whether the user is its candidate (else a recruiter of its
    employer): interviews.rules.require_participant."""
    user = require_user(request)
    session = database(request)
    interview = await interviews.get(session, path_int(request, "interview_id"))
    return user, interview, await interviews.rules.require_participant(session, user, interview)


async def _interview_page(
    request: Request,
    user: User,
    interview: Interview,
    is_candidate: bool,
    *,
    cancel_form: forms.FormState | None = None,
    move_form: forms.FormState | None = None,
    alternatives: list[interviews.Choice] | None = None,
    status: int = 200,
) -> Response:
    session = database(request)
    info = await BoothCache(session).get(interview.booth_id)
    state = InterviewStatus(interview.status)
    changeable = _changeable(interview, info)
    can_move = interviews.rules.may_move(interview, changeable=changeable)
    choices: list[interviews.Choice] = []
    if can_move:
        choices = _choices(
            alternatives
            if alternatives is not None
            else await interviews.free_slots(session, interview.booth_id)
        )
    context = {
        "interview": interview,
        "state": state,
        "mode": InterviewMode(interview.mode),
        "outcome": InterviewOutcome(interview.outcome) if interview.outcome else None,
        "info": info,
        "zone": info.zone,
        "day": _local_day(interview.starts_at, info.zone),
        "is_candidate": is_candidate,
        "candidate": await session.get(User, interview.candidate_id),
        "staff": await session.get(User, interview.recruiter_id),
        "holds_room": interviews.rules.holds_room(interview, user),
        "can_answer": interviews.rules.may_answer(interview, is_candidate=is_candidate),
        "can_cancel": interviews.rules.may_cancel(
            interview, is_candidate=is_candidate, changeable=changeable
        ),
        "can_move": can_move,
        "move_days": _by_day(choices, info.zone, lambda c: c.starts_at),
        "move_modes": _modes_of(choices),
        "taken": alternatives is not None,
        "cancel_form": cancel_form,
        "move_form": move_form,
        **ENUMS,
    }
    return render(request, "interviews/interview.html", context, status=status)


@page
async def interview_page(request: Request) -> Response:
    user, interview, is_candidate = await _participant(request)
    return await _interview_page(request, user, interview, is_candidate)


@page
async def interview_cancel(request: Request) -> Response:
    user, interview, is_candidate = await _participant(request)
    fields = forms.Fields(await forms.read(request))
    try:
        reason = fields.text("reason", multiline=True)
        await interviews.cancel(database(request), by=user, interview=interview, reason=reason)
    except FairError as error:
        form = _state(fields, error)
        await release(request)
        return await _interview_page(
            request, user, interview, is_candidate, cancel_form=form, status=error.status
        )
    if is_candidate:
        flash(request, "Your interview is cancelled: the recruiter is told.")
        return urls.redirect(request, "my_interviews", anchor="interviews")
    flash(request, "The interview was cancelled: the candidate is told.")
    return urls.redirect(request, "booth_interviews", booth_id=interview.booth_id, anchor="agenda")


@page
async def interview_move(request: Request) -> Response:
    user, interview, is_candidate = await _participant(request)
    session = database(request)
    fields = forms.Fields(await forms.read(request))
    try:
        slot_id, mode = _slot_id(fields), _mode(fields)
        reason = fields.text("reason", multiline=True)
        fields.done()
        slot = await interviews.get_slot(session, slot_id)
        await interviews.reschedule(
            session, by=user, interview=interview, slot=slot, reason=reason, mode=mode
        )
    except FairError as error:
        if isinstance(error, NotFound | Forbidden):
            raise
        alternatives = error.alternatives if isinstance(error, interviews.SlotTaken) else None
        form = _state(fields, error, suffix="move")
        await release(request)
        return await _interview_page(
            request,
            user,
            interview,
            is_candidate,
            move_form=form,
            alternatives=alternatives,
            status=error.status,
        )
    flash(request, "The interview has moved: both of you are told.")
    return urls.redirect(request, "interview", interview_id=interview.id)


@page
async def interview_confirm(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    interview = await interviews.get(session, path_int(request, "interview_id"))
    fields = forms.Fields(await forms.read(request))
    mode = _mode(fields) if fields.text("mode") else None
    fields.done()
    await interviews.confirm(session, candidate=user, interview=interview, mode=mode)
    flash(request, "Your interview is confirmed.")
    return urls.redirect(request, "my_interviews", anchor="interviews")


@page
async def interview_decline(request: Request) -> Response:
    user = require_role(request, Role.CANDIDATE)
    session = database(request)
    interview = await interviews.get(session, path_int(request, "interview_id"))
    await interviews.decline(session, candidate=user, interview=interview)
    flash(request, "You declined the slot.")
    return urls.redirect(request, "my_interviews", anchor="interviews")


# Organisers: rules and figures ---------------------------------------------------------------


def _rules_values(rules: Any, zone: str) -> dict[str, Any]:
    release = rules.release_at
    return {
        "max_per_booth": str(rules.max_per_booth),
        "max_total": str(rules.max_total),
        "release_at": release.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
        if release
        else "",
        "cancel_cutoff_minutes": str(rules.cancel_cutoff_minutes),
        "offer_minutes": str(rules.offer_minutes),
        "min_notice_minutes": str(rules.min_notice_minutes),
    }


def _rules_input(fields: forms.Fields, zone: str) -> interviews.RulesInput:
    data = interviews.RulesInput(
        max_per_booth=fields.integer("max_per_booth"),
        max_total=fields.integer("max_total"),
        release_at=fields.moment("release_at", zone) if fields.text("release_at") else None,
        cancel_cutoff_minutes=fields.integer("cancel_cutoff_minutes"),
        offer_minutes=fields.integer("offer_minutes"),
        min_notice_minutes=fields.integer("min_notice_minutes"),
    )
    fields.done()
    return data


@page
async def edition_interviews(request: Request) -> Response:
    """The edition's booking rules, and its interviews booth by booth."""
    user = require_role(request, Role.ORGANISER)
    session = database(request)
    edition = await editions.get(session, path_int(request, "edition_id"))
    await permissions.require_organiser(session, user, edition)
    form, status = None, 200
    if request.method == "POST":
        fields = forms.Fields(await forms.read(request))
        try:
            data = _rules_input(fields, edition.timezone)
            await interviews.set_rules(session, by=user, edition=edition, data=data)
            flash(request, "The booking rules were saved.")
            return urls.redirect(request, "edition_interviews", edition_id=edition.id)
        except FairError as error:
            form, status = _state(fields, error), error.status
            await release(request)
            session = database(request)
    if form is None:
        rules = await interviews.booking_rules(session, edition.id)
        form = forms.FormState(values=_rules_values(rules, edition.timezone))
    figures = await interviews.booth_figures(session, edition.id)
    total = interviews.BoothFigures(
        booth_id=0,
        employer="",
        slots=sum(b.slots for b in figures),
        booked=sum(b.booked for b in figures),
        held=sum(b.held for b in figures),
        no_shows=sum(b.no_shows for b in figures),
        cancelled=sum(b.cancelled for b in figures),
    )
    context = {
        "edition": edition,
        "form": form,
        "figures": figures,
        "total": total,
    }
    return render(request, "interviews/rules.html", context, status=status)


routes = [
    Route(
        "/recruiter/booths/{booth_id:int}/interviews",
        booth_interviews,
        methods=["GET", "POST"],
        name="booth_interviews",
    ),
    Route(
        "/recruiter/interview-slots/{slot_id:int}/withdraw",
        slot_withdraw,
        methods=["POST"],
        name="slot_withdraw",
    ),
    Route(
        "/recruiter/applications/{application_id:int}/interview/invite",
        application_invite,
        methods=["POST"],
        name="interview_invite",
    ),
    Route(
        "/recruiter/applications/{application_id:int}/interview/book",
        application_book,
        methods=["POST"],
        name="interview_book_for",
    ),
    Route("/me/interviews", my_interviews, name="my_interviews"),
    Route("/me/interviews/calendar", calendar_link, methods=["POST"], name="calendar_link"),
    Route(
        "/me/invitations/{invitation_id:int}/book",
        invitation_book,
        methods=["POST"],
        name="invitation_book",
    ),
    Route(
        "/me/invitations/{invitation_id:int}/waitlist/join",
        waitlist_join,
        methods=["POST"],
        name="waitlist_join",
    ),
    Route(
        "/me/invitations/{invitation_id:int}/waitlist/leave",
        waitlist_leave,
        methods=["POST"],
        name="waitlist_leave",
    ),
    Route("/interviews/{interview_id:int}", interview_page, name="interview"),
    Route(
        "/interviews/{interview_id:int}/confirm",
        interview_confirm,
        methods=["POST"],
        name="interview_confirm",
    ),
    Route(
        "/interviews/{interview_id:int}/decline",
        interview_decline,
        methods=["POST"],
        name="interview_decline",
    ),
    Route(
        "/interviews/{interview_id:int}/cancel",
        interview_cancel,
        methods=["POST"],
        name="interview_cancel",
    ),
    Route(
        "/interviews/{interview_id:int}/move",
        interview_move,
        methods=["POST"],
        name="interview_move",
    ),
    Route(
        "/interviews/{interview_id:int}/record",
        interview_record,
        methods=["POST"],
        name="interview_record",
    ),
    Route(
        "/organiser/editions/{edition_id:int}/interviews",
        edition_interviews,
        methods=["GET", "POST"],
        name="edition_interviews",
    ),
]
