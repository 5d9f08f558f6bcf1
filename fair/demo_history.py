"""The demo's history: what happened on the demo territory before the visitor arrives.

`fair.demo.seed` builds last year's edition and plays its whole story, then builds this year's
(live since yesterday) and plays what already happened, so that every panel of the organiser's
dashboard has something to show: registrations over the weeks before opening, page views and
active candidates per day, applications and the recruiters' answers, queue conversations (and
people who gave up waiting), interviews held and missed with their outcomes, a talk with its
audience and questions; for last year, the hires confirmed at J+30 and the satisfaction survey.

Every step goes through the domain function a person's click would call, with the platform's
clock moved to the moment it happens (`clock.set_now`), so each row holds the dates, statuses,
notices, mails and events the real step writes. Only page views go in as counts, through
`activity.save`, which is what the tally's round writes. Events are played in time order (a
`Story` is a list of timed steps): an application is submitted before it is shortlisted, an
interview booked before it is held. Everything is drawn from `random.Random(seed)`, so two seeds
give the same history. The caller puts the clock back.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    activity,
    applications,
    candidates,
    clock,
    conversations,
    editions,
    employers,
    follow_ups,
    interviews,
    outcomes,
    participants,
    queues,
    surveys,
    webconferences,
)
from fair.enums import (
    ApplicationStatus,
    Contract,
    InterviewMode,
    InterviewOutcome,
    NextStep,
    Qualification,
    Role,
    WebconferenceAccess,
)
from fair.models import (
    Application,
    Booth,
    Edition,
    Interview,
    InterviewInvitation,
    Offer,
    User,
)
from fair.tally import Taken
from fair.webconferences import audience


def _load() -> dict[str, Any]:
    text = resources.files("fair").joinpath("data/demo.toml").read_text(encoding="utf-8")
    history: dict[str, Any] = tomllib.loads(text)["history"]
    return history


DATA = _load()
SEED: int = DATA["seed"]
PEOPLE: int = DATA["people"]
SLOT_MINUTES, SLOT_STEP = 30, 40
# The interviews' modes in turn: video and phone mostly, some in writing.
MODES = (
    InterviewMode.VIDEO,
    InterviewMode.PHONE,
    InterviewMode.CHAT,
    InterviewMode.VIDEO,
    InterviewMode.PHONE,
)


@dataclass(frozen=True)
class Plan:
    """How much happens in one edition (fair/data/demo.toml [history.past] / [history.current])."""

    first: int
    candidates: int
    weeks: int
    booths: list[int]
    offers_per_booth: int
    active: float
    applied: float
    offers_per_applicant: list[int]
    reviewed: float
    shortlisted: float
    not_retained: float
    interview_booths: list[int]
    upcoming_booths: list[int]
    interviews: int
    no_show: float
    outcome: dict[str, int]
    queue_booths: list[int]
    conversations: int
    abandoned: float
    views_per_day: int
    talk_seats: int
    talk_audience: int


PAST = Plan(**DATA["past"])
CURRENT = Plan(**DATA["current"])


@dataclass(frozen=True)
class Stand:
    """A booth of the edition, its recruiter and its offers."""

    booth: Booth
    owner: User
    offers: list[Offer]


Step = Callable[[], Awaitable[None]]


@dataclass
class Story:
    """Timed steps, played in time order (ties in the order they were added) up to `until`."""

    until: datetime
    steps: list[tuple[datetime, int, Step]] = field(default_factory=list)

    def at(self, moment: datetime, step: Step) -> None:
        if moment <= self.until:
            self.steps.append((moment, len(self.steps), step))

    async def play(self) -> None:
        for moment, _n, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            clock.set_now(moment)
            await step()


# People -----------------------------------------------------------------------------------------


async def people(session: AsyncSession, *, cv: bytes, area: list[str]) -> list[User]:
    """PEOPLE candidates with a profile, a CV and, for most, optional priority answers."""
    rng = random.Random(SEED)
    first, last = DATA["first_names"], DATA["last_names"]
    found = []
    for n in range(PEOPLE):
        name = f"{first[n % len(first)]} {last[(n * 7 + n // len(first)) % len(last)]}"
        user = await accounts.create_user(
            session,
            email=f"personne{n + 1:03d}@demo.fair",
            name=name,
            password=None,
            role=Role.CANDIDATE,
        )
        profile = candidates.ProfileInput(
            name=name,
            phone=f"06 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
            commune=rng.choice(area),
            wanted_jobs="",
        )
        await candidates.update(session, user, data=profile)
        await candidates.set_cv(session, user, filename="cv.pdf", data=cv)
        if rng.random() < DATA["declaring"]:
            answers = _answers(rng)
            await candidates.declare(session, user, consent=True, answers=answers)
        found.append(user)
    return found


def _answers(rng: random.Random) -> candidates.PriorityAnswers:
    said = {name: rng.random() < share for name, share in DATA["priority"].items()}
    level = _draw(rng, {Qualification(k): v for k, v in DATA["qualifications"].items()})
    age = _draw(rng, {(1960, 1970): 15, (1970, 1999): 55, (1999, 2008): 30})
    return candidates.PriorityAnswers(**said, qualification=level, birth_year=rng.randrange(*age))


T = TypeVar("T")


def _draw(rng: random.Random, weights: dict[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# An edition's story ----------------------------------------------------------------------------


@dataclass
class Played:
    """What one edition's story needs, and what it builds as it plays."""

    session: AsyncSession
    edition: Edition
    organiser: User
    stands: list[Stand]
    plan: Plan
    rng: random.Random
    story: Story
    users: dict[int, User] = field(default_factory=dict)
    registered_at: dict[int, datetime] = field(default_factory=dict)
    planned: set[tuple[int, int]] = field(default_factory=set)  # (candidate, offer) applied to
    interviewed: set[int] = field(default_factory=set)  # one interview per candidate at most
    applications: dict[tuple[int, int], Application] = field(default_factory=dict)
    invitations: dict[tuple[int, int], InterviewInvitation] = field(default_factory=dict)
    booked: dict[tuple[int, int], Interview] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.edition.timezone)

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone).astimezone(UTC)


async def play(
    session: AsyncSession,
    *,
    edition: Edition,
    organiser: User,
    stands: list[Stand],
    crowd: list[User],
    plan: Plan,
    until: datetime,
) -> None:
    """Play the edition's story from its publication up to `until` (now, or its end)."""
    rng = random.Random(f"{SEED}-{edition.slug}")
    fair = Played(session, edition, organiser, stands, plan, rng, Story(until))
    bounds = editions.live_bounds(edition)
    assert bounds is not None
    opening = bounds[0]
    registered = crowd[plan.first : plan.first + plan.candidates]
    fair.users = {user.id: user for user in registered}
    for user in registered:
        fair.registered_at[user.id] = _registration_time(fair, opening, until)
        fair.story.at(fair.registered_at[user.id], _register(fair, user))
    active = [u for u in registered if rng.random() < plan.active]
    days = _live_days_played(fair, until)
    applicants = [u for u in active if rng.random() < plan.applied]
    for user in applicants:
        _apply(fair, user, until)
    today = activity.local_day(edition, until)
    _interviews(fair, days, [d.day for d in edition.live_days if d.day > today][:1])
    for index in plan.queue_booths:  # the queue reads the booth's edition: loaded once
        await employers.get_booth(session, stands[index].booth.id)
    _queues(fair, days, active)
    if days:
        _talk(fair, days[-1], active)
    _afterwards(fair, registered)
    await fair.story.play()
    clock.set_now(until)
    await activity.save(session, _views(fair, active, applicants, days, until))
    if editions.open_now(edition, until):
        await _waiting(fair, until, registered)


def _registration_time(fair: Played, opening: datetime, until: datetime) -> datetime:
    """Most register in the weeks before opening, more as it nears; some on the live days."""
    published = fair.edition.published_at
    assert published is not None
    if fair.rng.random() < 0.12:
        end = min(until, opening + timedelta(days=2))
        return opening + (end - opening) * fair.rng.random()
    back = timedelta(weeks=fair.plan.weeks) * float(fair.rng.random() ** 1.8)
    return max(published + timedelta(hours=1), opening - back)


def _register(fair: Played, user: User) -> Step:
    async def step() -> None:
        await participants.register(
            fair.session, edition_id=fair.edition.id, user=user, at=clock.now()
        )

    return step


def _live_days_played(fair: Played, until: datetime) -> list[date]:
    """The live days over by `until` (yesterday's, for an edition live today)."""
    return [d.day for d in fair.edition.live_days if fair.local(d.day, d.closes) <= until]


def _apply(fair: Played, user: User, until: datetime) -> None:
    """The candidate applies to a few offers; recruiters answer some of them."""
    edition, rng, plan = fair.edition, fair.rng, fair.plan
    start = max(edition.applications_open_at, fair.registered_at[user.id])
    end = min(edition.applications_close_at, until) - timedelta(hours=2)
    if end <= start:
        return
    for stand in rng.sample(fair.stands, k=rng.choice(plan.offers_per_applicant)):
        offer = rng.choice(stand.offers)
        if (user.id, offer.id) in fair.planned:
            continue
        fair.planned.add((user.id, offer.id))
        at = start + (end - start) * rng.random()
        fair.story.at(at, _submit(fair, user, offer))
        if rng.random() >= plan.reviewed:
            continue
        answered = at + timedelta(hours=rng.uniform(2, 60))
        draw = rng.random()
        if draw < plan.shortlisted:
            new = ApplicationStatus.SHORTLISTED
        elif draw < plan.shortlisted + plan.not_retained:
            new = ApplicationStatus.NOT_RETAINED
        else:
            new = ApplicationStatus.IN_REVIEW
        fair.story.at(answered, _answer(fair, user, offer, stand.owner, new))


def _submit(fair: Played, user: User, offer: Offer) -> Step:
    async def step() -> None:
        application = await applications.apply(
            fair.session, candidate=user, offer=offer, message=""
        )
        fair.applications[(user.id, offer.id)] = application

    return step


def _answer(fair: Played, user: User, offer: Offer, owner: User, new: ApplicationStatus) -> Step:
    async def step() -> None:
        application = fair.applications[(user.id, offer.id)]
        if application.status == ApplicationStatus.SUBMITTED:
            await applications.set_status(fair.session, application, new, by=owner)

    return step


# Interviews --------------------------------------------------------------------------------------


def _interviews(fair: Played, days: list[date], upcoming: list[date]) -> None:
    """At each interview booth: slots published when applications open, on every live day
    played; candidates who applied there early are shortlisted, invited, book a slot, and
    are recorded held (with an outcome) or absent. At `plan.upcoming_booths`, a few book slots
    of the next live day too (not held yet)."""
    if not days:
        return
    publish = fair.edition.applications_open_at + timedelta(hours=1)
    for index in fair.plan.interview_booths:
        stand = fair.stands[index]
        ahead = upcoming if index in fair.plan.upcoming_booths else []
        fair.story.at(publish, _publish_slots(fair, stand, [*days, *ahead]))
        played, coming = _slot_starts(fair, days), _slot_starts(fair, ahead)
        slots = played[: fair.plan.interviews] + coming[:UPCOMING]
        _invitees(fair, stand, slots, publish)


UPCOMING = 2  # interviews booked per upcoming booth on the next live day
UNRECORDED = 5  # one interview in five is never recorded by its recruiter


def _slot_starts(fair: Played, days: list[date]) -> list[datetime]:
    """The slots' starts on those days, shuffled."""
    found = [
        fair.local(day, time.fromisoformat(start)) + timedelta(minutes=SLOT_STEP * n)
        for day in days
        for start, end in _stretches()
        for n in range(_slot_count(start, end))
    ]
    fair.rng.shuffle(found)
    return found


def _stretches() -> list[tuple[str, str]]:
    return [(a, b) for a, b in DATA["slots"]]


def _slot_count(start: str, end: str) -> int:
    a, b = (datetime.combine(date.min, time.fromisoformat(t)) for t in (start, end))
    return int(((b - a).total_seconds() / 60 - SLOT_MINUTES) // SLOT_STEP) + 1


def _publish_slots(fair: Played, stand: Stand, days: list[date]) -> Step:
    async def step() -> None:
        for day in days:
            for start, end in _stretches():
                data = interviews.AvailabilityInput(
                    day=day,
                    start=time.fromisoformat(start),
                    end=time.fromisoformat(end),
                    length_minutes=SLOT_MINUTES,
                    buffer_minutes=SLOT_STEP - SLOT_MINUTES,
                    modes=frozenset(InterviewMode),
                    staff_id=stand.owner.id,
                )
                await interviews.publish_availability(
                    fair.session, by=stand.owner, booth=stand.booth, data=data
                )

    return step


def _invitees(fair: Played, stand: Stand, slots: list[datetime], publish: datetime) -> None:
    """Fill `plan.interviews` slots (at most) with candidates applying to the booth after
    `publish` and a day before their slot (one interview per candidate)."""
    rng = fair.rng
    for starts in slots:
        invited = starts - timedelta(days=1)
        if invited <= publish:
            continue
        user_id = rng.choice(list(fair.registered_at))
        if user_id in fair.interviewed or fair.registered_at[user_id] >= invited - timedelta(
            hours=6
        ):
            continue
        fair.interviewed.add(user_id)
        offer = rng.choice(stand.offers)
        applied = fair.registered_at[user_id] + (invited - fair.registered_at[user_id]) / 3
        applied = max(applied, fair.edition.applications_open_at + timedelta(minutes=5))
        if applied >= invited - timedelta(hours=3):
            continue
        user = fair.users[user_id]
        if (user.id, offer.id) in fair.planned:
            continue
        fair.planned.add((user.id, offer.id))
        mode = MODES[len(fair.interviewed) % len(MODES)]
        booked = invited + timedelta(hours=rng.uniform(0.5, 5))
        story = fair.story
        story.at(applied, _submit(fair, user, offer))
        story.at(invited - timedelta(hours=2), _invite(fair, stand, user, offer))
        story.at(booked, _book(fair, stand, user, offer, starts, mode))
        # Every n-th interview is missed (n = 1 / plan.no_show): a steady no-show rate.
        attended = len(fair.interviewed) % round(1 / fair.plan.no_show) != 0
        outcome = InterviewOutcome(_draw(rng, fair.plan.outcome))
        record = starts + timedelta(minutes=SLOT_MINUTES + rng.randint(2, 50))
        if len(fair.interviewed) % UNRECORDED != 4:  # some recruiters never record theirs
            story.at(record, _record(fair, stand, user, offer, attended, outcome))


def _invite(fair: Played, stand: Stand, user: User, offer: Offer) -> Step:
    async def step() -> None:
        application = fair.applications[(user.id, offer.id)]
        if application.status == ApplicationStatus.SUBMITTED:
            await applications.set_status(
                fair.session, application, ApplicationStatus.SHORTLISTED, by=stand.owner
            )
        if application.status != ApplicationStatus.SHORTLISTED:
            return  # not retained after a queue conversation meanwhile
        fair.invitations[(user.id, offer.id)] = await interviews.invite(
            fair.session, by=stand.owner, application=application
        )

    return step


def _book(
    fair: Played, stand: Stand, user: User, offer: Offer, starts: datetime, mode: InterviewMode
) -> Step:
    async def step() -> None:
        invitation = fair.invitations.get((user.id, offer.id))
        if invitation is None:
            return
        free = await interviews.free_slots(fair.session, stand.booth.id)
        slot = next(s for s in free if s.starts_at == starts)
        fair.booked[(user.id, offer.id)] = await interviews.book(
            fair.session,
            by=user,
            invitation=invitation,
            slot=slot,
            mode=mode,
        )

    return step


def _record(
    fair: Played,
    stand: Stand,
    user: User,
    offer: Offer,
    attended: bool,
    outcome: InterviewOutcome,
) -> Step:
    async def step() -> None:
        interview = fair.booked.get((user.id, offer.id))
        if interview is None:
            return
        await interviews.record(
            fair.session,
            by=stand.owner,
            interview=interview,
            attended=attended,
            outcome=outcome,
        )

    return step


# Queues and conversations --------------------------------------------------------------------


def _queues(fair: Played, days: list[date], active: list[User]) -> None:
    """Each queue booth has `plan.conversations` visitors over the live days played, one
    after the other; a share of them (one at least) leave the queue before their turn, the
    others talk with the recruiter (each candidate comes once)."""
    rng = fair.rng
    if not days:
        return
    visitors = iter(rng.sample(active, k=len(active)))
    count = fair.plan.conversations
    for index in fair.plan.queue_booths:
        stand = fair.stands[index]
        quitters = set(rng.sample(range(count), k=max(1, round(count * fair.plan.abandoned))))
        on = sorted(rng.choice(days) for _ in range(count))
        n = 0
        for day in sorted(set(on)):
            at = fair.local(day, time(9, 30)) + timedelta(minutes=rng.randint(0, 240))
            for _ in range(on.count(day)):
                user = next(visitors, None)
                if user is None:
                    return
                at = _visit(fair, stand, user, at, gives_up=n in quitters)
                n += 1


def _visit(fair: Played, stand: Stand, user: User, at: datetime, *, gives_up: bool) -> datetime:
    """The candidate joins the queue at `at`: gives up, or is called and talks; returns when
    the booth's next visitor comes."""
    rng = fair.rng
    wait = timedelta(seconds=rng.randint(40, 900))
    fair.story.at(at, _join(fair, stand, user))
    if gives_up:
        fair.story.at(at + wait, _leave(fair, stand, user))
        return at + wait + timedelta(minutes=rng.randint(5, 40))
    length = timedelta(seconds=rng.randint(180, 900))
    steps = {NextStep.KEEP_IN_TOUCH: 45, NextStep.NONE: 35, NextStep.NOT_RETAINED: 20}
    fair.story.at(at + wait, _converse(fair, stand, user, length, _draw(rng, steps)))
    return at + wait + length + timedelta(minutes=rng.randint(2, 45))


async def _waiting(fair: Played, now: datetime, registered: list[User]) -> None:
    """During live hours, a few candidates wait in the first queues, joined 2 to 14 minutes
    ago (the live panel shows them; the demo recruiter may call the first), never before the
    day's opening: a demo seeded at 08:05 has them joined within the last 5 minutes."""
    rng = fair.rng
    today = activity.local_day(fair.edition, now)
    opens = min(fair.local(d.day, d.opens) for d in fair.edition.live_days if d.day == today)
    open_for = int((now - opens).total_seconds() // 60)
    ago = range(min(2, open_for), min(15, open_for + 1))
    people = iter(rng.sample(registered, k=len(registered)))
    for index in fair.plan.queue_booths[:4]:
        for minutes in sorted(rng.sample(ago, k=min(rng.randint(1, 3), len(ago))), reverse=True):
            clock.set_now(now - timedelta(minutes=minutes))
            await _join(fair, fair.stands[index], next(people))()
    clock.set_now(now)


def _join(fair: Played, stand: Stand, user: User) -> Step:
    async def step() -> None:
        await queues.join(fair.session, candidate=user, booth=stand.booth)

    return step


def _leave(fair: Played, stand: Stand, user: User) -> Step:
    async def step() -> None:
        await queues.leave(fair.session, candidate=user, booth=stand.booth)

    return step


def _converse(
    fair: Played, stand: Stand, user: User, length: timedelta, next_step: NextStep
) -> Step:
    """Called, answered 20 s later, ended after `length` (the clock moves inside the step:
    nothing else happens at that booth meanwhile)."""

    async def step() -> None:
        session, started = fair.session, clock.now()
        entry = await queues.take_next(session, recruiter=stand.owner, booth=stand.booth)
        assert entry is not None and entry.candidate_id == user.id
        clock.set_now(started + timedelta(seconds=20))
        conversation = await conversations.answer(session, candidate=user, entry=entry)
        clock.set_now(started + length)
        await conversations.end(
            session, recruiter=stand.owner, conversation=conversation, next_step=next_step
        )

    return step


# A talk ------------------------------------------------------------------------------------------


def _talk(fair: Played, day: date, active: list[User]) -> None:
    """An organiser's talk on the last live day played: registrations in the days before,
    most of the registered watch for a while, a few ask a question."""
    rng, story = fair.rng, fair.story
    starts = fair.local(day, time(11, 0))
    scheduled = fair.edition.applications_open_at + timedelta(hours=2)
    talk: dict[str, Any] = {}
    story.at(scheduled, _schedule(fair, talk, starts))
    audience_ = rng.sample(active, k=min(len(active), fair.plan.talk_audience))
    for user in audience_:
        story.at(scheduled + (starts - scheduled) * rng.random(), _sign_up(fair, talk, user))
    story.at(starts, _start(fair, talk))
    for n, user in enumerate(audience_):
        if rng.random() < 0.35:
            continue  # registered, did not come
        came = starts + timedelta(seconds=rng.randint(0, 600))
        left = came + timedelta(seconds=rng.randint(120, 2700))
        story.at(came, _arrive(fair, talk, user, f"demo-{n}"))
        if n % 5 == 1:  # one viewer in five asks a question
            story.at(came + timedelta(seconds=90), _ask(fair, talk, user, rng))
        story.at(left, _depart(fair, talk, f"demo-{n}"))
    seatless = [u for u in active if u not in audience_][: fair.plan.talk_audience // 3]
    for n, user in enumerate(seatless, start=len(audience_)):  # open access: no seat needed
        came = starts + timedelta(seconds=rng.randint(60, 1200))
        story.at(came, _arrive(fair, talk, user, f"demo-{n}"))
        story.at(came + timedelta(seconds=rng.randint(120, 1200)), _depart(fair, talk, f"demo-{n}"))
    story.at(starts + timedelta(minutes=45), _end(fair, talk))


QUESTIONS = (
    "Faut-il un CV différent pour chaque offre ?",
    "Comment parler d'une période sans emploi ?",
    "Peut-on postuler à plusieurs offres du même employeur ?",
    "Les entretiens par téléphone comptent-ils autant qu'en visio ?",
    "Quelles aides existent pour passer le permis ?",
)


def _schedule(fair: Played, talk: dict[str, Any], starts: datetime) -> Step:
    async def step() -> None:
        data = webconferences.WebconferenceInput(
            title="Valoriser son expérience face à un recruteur",
            description="Parcours, compétences, savoir-être : les questions qu'on vous posera.",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
            capacity=fair.plan.talk_seats,
            access=WebconferenceAccess.OPEN,
            presenter_ids=[fair.organiser.id],
        )
        talk["row"] = await webconferences.schedule(
            fair.session, by=fair.organiser, edition=fair.edition, booth=None, data=data
        )

    return step


def _sign_up(fair: Played, talk: dict[str, Any], user: User) -> Step:
    async def step() -> None:
        await webconferences.register(fair.session, candidate=user, webconference=talk["row"])

    return step


def _start(fair: Played, talk: dict[str, Any]) -> Step:
    async def step() -> None:
        await webconferences.start(fair.session, by=fair.organiser, webconference=talk["row"])

    return step


def _end(fair: Played, talk: dict[str, Any]) -> Step:
    async def step() -> None:
        await webconferences.end(fair.session, by=fair.organiser, webconference=talk["row"])

    return step


def _arrive(fair: Played, talk: dict[str, Any], user: User, connection: str) -> Step:
    async def step() -> None:
        await audience.arrive(
            fair.session, user=user, webconference_id=talk["row"].id, connection_id=connection
        )

    return step


def _depart(fair: Played, talk: dict[str, Any], connection: str) -> Step:
    async def step() -> None:
        await audience.depart(
            fair.session, webconference_id=talk["row"].id, connection_id=connection
        )

    return step


def _ask(fair: Played, talk: dict[str, Any], user: User, rng: random.Random) -> Step:
    body = rng.choice(QUESTIONS)

    async def step() -> None:
        await audience.ask(fair.session, user=user, webconference_id=talk["row"].id, body=body)

    return step


# After the edition: the survey, and the follow-up at J+30 -----------------------------------------

FOLLOW_UP = 30  # days after the end: the first follow-up's stage (fair.follow_ups)
COMMENTS = (
    "Les échanges en visio avec les recruteurs étaient très utiles.",
    "J'aurais aimé plus d'offres dans le numérique.",
    "Bonne organisation, des entretiens bien calés sur nos disponibilités.",
    "Le site était facile à utiliser, même sur téléphone.",
    "Un peu d'attente dans certaines files, mais des recruteurs disponibles.",
)


def _afterwards(fair: Played, registered: list[User]) -> None:
    """Once the edition is over (when `until` reaches that far): the survey goes out and a
    share of the candidates and recruiters answer it; at J+30 the follow-up goes out, the
    recruiters confirm (or not) the hires of the candidates they retained and some candidates
    say whether they found a job."""
    rng, story = fair.rng, fair.story
    end = outcomes.ends_at(fair.edition)
    follow_up = end + timedelta(days=FOLLOW_UP, hours=1)
    if follow_up + timedelta(days=5) > story.until:
        return
    story.at(end + timedelta(hours=1), _send_survey(fair))
    for user in registered:
        if rng.random() < 0.4:
            story.at(end + timedelta(hours=rng.uniform(2, 24 * 20)), _survey(fair, user))
    for stand in fair.stands:
        if rng.random() < 0.6:
            story.at(end + timedelta(hours=rng.uniform(2, 24 * 20)), _survey(fair, stand.owner))
    story.at(follow_up, _send_follow_up(fair))
    for stand in fair.stands:
        story.at(follow_up + timedelta(hours=rng.uniform(1, 72)), _confirm_hires(fair, stand))
    for user in registered:
        if rng.random() < 0.3:
            at = follow_up + timedelta(hours=rng.uniform(1, 24 * 5))
            story.at(at, _report_job(fair, user))


def _send_survey(fair: Played) -> Step:
    async def step() -> None:
        await surveys.invite(fair.session)  # the worker's round, at the time it runs

    return step


def _survey(fair: Played, user: User) -> Step:
    rng = fair.rng
    happy = rng.random() < 0.75
    scores = [min(5, max(1, round(rng.gauss(4.1 if happy else 2.8, 0.8)))) for _ in range(4)]
    data = surveys.SurveyInput(
        overall=scores[0],
        ease=scores[1],
        contacts=scores[2] if rng.random() < 0.9 else None,
        organisation=scores[3],
        recommend=happy if rng.random() < 0.95 else None,
        comment=rng.choice(COMMENTS) if rng.random() < 0.3 else "",
    )

    async def step() -> None:
        await surveys.answer(fair.session, edition=fair.edition, user=user, data=data)

    return step


def _send_follow_up(fair: Played) -> Step:
    async def step() -> None:
        while await follow_ups.step(fair.session) is not None:  # the worker's rounds
            pass

    return step


def _confirm_hires(fair: Played, stand: Stand) -> Step:
    """The booth's recruiter answers about each candidate they retained: most were hired."""
    rng = fair.rng
    contracts = {Contract.CDI: 45, Contract.CDD: 35, Contract.TEMPORARY: 15, Contract.SEASONAL: 5}

    async def step() -> None:
        retained = await fair.session.scalars(
            select(Application.id)
            .where(Application.booth_id == stand.booth.id, outcomes.retained_condition())
            .order_by(Application.id)
        )
        for application_id in list(retained):
            contract = _draw(rng, contracts)
            months = None if contract == Contract.CDI else rng.choice([1, 3, 6, 12])
            answer = outcomes.Answer(rng.random() < 0.85, contract, months)
            await outcomes.confirm_hire(
                fair.session, by=stand.owner, application_id=application_id, answer=answer
            )

    return step


def _report_job(fair: Played, user: User) -> Step:
    """The candidate says whether they found a job: at a booth of the edition they applied
    to, elsewhere, or not yet."""
    rng = fair.rng
    draw = rng.random()
    contract = _draw(rng, {Contract.CDI: 40, Contract.CDD: 45, Contract.TEMPORARY: 15})
    months = None if contract == Contract.CDI else rng.choice([1, 2, 6, 12])

    async def step() -> None:
        booths = sorted({a.booth_id for (u, _o), a in fair.applications.items() if u == user.id})
        if draw < 0.25 and booths:
            answer = outcomes.JobAnswer(True, booth_id=booths[0], contract=contract, months=months)
        elif draw < 0.55:
            employer = rng.choice(ELSEWHERE)
            answer = outcomes.JobAnswer(
                True, employer_name=employer, contract=contract, months=months
            )
        else:
            answer = outcomes.JobAnswer(False)
        await outcomes.report_job(fair.session, user=user, edition=fair.edition, answer=answer)

    return step


ELSEWHERE = (
    "Mairie de Lattes",
    "Boulangerie du Lez",
    "Transports Hérault Express",
    "Ehpad Les Oliviers",
)
# Page views -------------------------------------------------------------------------------------


def _views(
    fair: Played, active: list[User], applicants: list[User], days: list[date], until: datetime
) -> Taken:
    """Views of the booth and offer pages per day from publication to `until`, rising towards
    and peaking on the live days; the active candidates' days (an applicant on the day they
    applied, and on live days)."""
    rng, edition = fair.rng, fair.edition
    published = edition.published_at
    assert published is not None
    live = {d.day for d in edition.live_days}
    first = activity.local_day(edition, published)
    last = min(activity.local_day(edition, until), max(live) + timedelta(days=3))
    opening = min(live)
    taken = Taken()
    day = first
    while day <= last:
        to_go = (opening - day).days
        level = 1.0 if day in live else 0.6 if to_go <= 7 else 0.25
        for stand in fair.stands:
            booth = stand.booth
            taken.views[(edition.id, booth.id, None, day)] = int(
                fair.plan.views_per_day * level * rng.uniform(0.4, 1.6)
            )
            if to_go > 7:
                continue
            for offer in stand.offers:
                n = int(fair.plan.views_per_day * level * rng.uniform(0.0, 0.6))
                if n:
                    taken.views[(edition.id, booth.id, offer.id, day)] = n
        day += timedelta(days=1)
    for user in active:
        came = [d for d in sorted(live) if d <= last and rng.random() < 0.6]
        for d in came or [min(live)]:
            taken.active.add((edition.id, user.id, d))
    for (user_id, _offer), application in fair.applications.items():
        applied = activity.local_day(edition, application.created_at)
        taken.active.add((edition.id, user_id, applied))
    return taken
