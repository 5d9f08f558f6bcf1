"""A small edition whose candidates went through known journeys, for the funnel's tests
(tests/test_insight.py, tests/test_web_dashboard.py, tests/browser/test_dashboard.py).

Each journey is built through the domain's functions (apply, shortlist, invite, book, cancel,
record) and carries the steps it reaches, written here by hand from the definitions of
fair.insight's docstring: the tests count those, never the same query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fair import activity, applications, clock, employers, interviews, participants
from fair.enums import ApplicationStatus, InterviewMode, InterviewOutcome, Role
from fair.models import Booth, Edition, Employer, HireConfirmation, InterviewSlot, Offer, User
from fair.tally import Taken
from tests import factories as f

APPLIED = {"registered", "active", "applied"}
SHORTLISTED = APPLIED | {"shortlisted"}
BOOKED = SHORTLISTED | {"interview_booked"}
HELD = BOOKED | {"held"}
RETAINED = HELD | {"retained"}
# What each journey reaches (fair.insight's definitions, by hand).
JOURNEYS: dict[str, set[str]] = {
    "registered": {"registered"},
    "active": {"registered", "active"},
    "applied": APPLIED,
    "withdrawn": APPLIED,  # applied, then withdrew: they did apply
    "shortlisted": SHORTLISTED,
    "dropped": SHORTLISTED,  # shortlisted, then not retained: the history counts
    "cancelled": SHORTLISTED,  # an interview booked, then cancelled: not a booking that stood
    "booked": BOOKED | {"not_held_yet"},
    "held": HELD,
    "no_show": BOOKED | {"no_show"},
    "retained": RETAINED,
    "hired": RETAINED | {"hired"},
}
# How many candidates of booth A went each way; booth B: three shortlisted, and the first
# "hired" candidate of A applied there too.
AT_A = {
    "registered": 2,
    "active": 1,
    "applied": 1,
    "withdrawn": 1,
    "shortlisted": 1,
    "dropped": 1,
    "cancelled": 1,
    "booked": 1,
    "held": 2,
    "no_show": 1,
    "retained": 2,
    "hired": 1,
}
AT_B = {"shortlisted": 3}
NAF_B = "56.10A"
# Page views counted (fair.activity): (booth, on its offer's page?) -> views.
VIEWS = {
    ("A", False): 7,
    ("A", True): 11,
    ("B", False): 3,
    ("B", True): 5,
}  # restaurants: booth B's employer's sector (division 56), A's is 43


@dataclass
class Built:
    edition: Edition
    organiser: User
    booths: dict[str, Booth]
    recruiters: dict[str, User]
    offers: dict[str, Offer]
    employers: dict[str, str]
    # (candidate id, booth name or None, journey)
    journeys: list[tuple[int, str | None, str]] = field(default_factory=list)

    def expected(
        self, *, booths: Iterable[str] | None = None, per_booth: str | None = None
    ) -> Counter[str]:
        """Each step's count, from the journeys: over every booth, the given booths (a
        filter: registration and activity stay edition-wide) or one booth's funnel."""
        kept = set(booths) if booths is not None else {"A", "B"}
        reached: dict[int, set[str]] = {}
        for user_id, booth, journey in self.journeys:
            steps = reached.setdefault(user_id, set())
            if per_booth is not None:
                if booth == per_booth:
                    steps |= JOURNEYS[journey] - {"registered", "active"}
            elif booth is None or booth in kept:
                steps |= JOURNEYS[journey]
            else:
                steps |= {"registered", "active"} & JOURNEYS[journey]
        return Counter(step for steps in reached.values() for step in steps)


async def build(session: AsyncSession) -> Built:
    """The edition at noon (f.NOON, applications open); the interviews are recorded the next
    evening, where the clock is left."""
    clock.set_now(f.NOON)
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth_a, recruiter_a = await f.booth(session, edition_=edition)
    booth_b, recruiter_b = await f.booth(session, edition_=edition)
    employer_b = await employers.get(session, booth_b.employer_id)
    await employers.update(session, employer_b, data=_employer_input(employer_b, NAF_B))
    offer_a = await f.offer(session, booth_=booth_a)
    offer_b = await f.offer(
        session, booth_=booth_b, contract="cdd", commune="Lunel", postcode="34400"
    )
    built = Built(
        edition,
        organiser,
        {"A": booth_a, "B": booth_b},
        {"A": recruiter_a, "B": recruiter_b},
        {"A": offer_a, "B": offer_b},
        {"A": (await employers.get(session, booth_a.employer_id)).name, "B": employer_b.name},
    )
    day = activity.local_day(edition)
    views = {
        (edition.id, built.booths[b].id, built.offers[b].id if on_offer else None, day): n
        for (b, on_offer), n in VIEWS.items()
    }
    await activity.save(session, Taken(views=views))
    data = f.availability(recruiter_a, end=time(18, 0))
    slots = await interviews.publish_availability(session, by=recruiter_a, booth=booth_a, data=data)
    free = iter(slots)
    to_record: list[tuple[object, str]] = []
    for journey, n in AT_A.items():
        for _ in range(n):
            person = await f.candidate(session, can_log_in=False)
            if journey == "registered":
                await participants.register(session, edition_id=edition.id, user=person)
            elif journey == "active":
                day = activity.local_day(edition)
                await activity.save(session, Taken(active={(edition.id, person.id, day)}))
            else:
                booked = await _journey(session, built, "A", person, journey, next(free))
                if booked is not None:
                    to_record.append((booked, journey))
            built.journeys.append(
                (person.id, None if journey in ("registered", "active") else "A", journey)
            )
    for journey, n in AT_B.items():
        for _ in range(n):
            person = await f.candidate(session, can_log_in=False)
            await _journey(session, built, "B", person, journey, None)
            built.journeys.append((person.id, "B", journey))
    hired = next(u for u, _b, j in built.journeys if j == "hired")
    await applications.apply(
        session, candidate=await _user(session, hired), offer=offer_b, message=""
    )
    built.journeys.append((hired, "B", "applied"))
    clock.set_now(f.NOON + timedelta(days=1, hours=6))
    for interview, journey in to_record:
        await _record(session, built, interview, journey)
    return built


def _employer_input(employer: Employer, naf: str) -> employers.EmployerInput:
    return employers.EmployerInput(
        name=employer.name,
        siret=employer.siret,
        naf_code=naf,
        size="10-49",
        commune="Montpellier",
        website="https://example.fr",
        description="",
        video_url="",
    )


async def _user(session: AsyncSession, user_id: int) -> User:
    found = await session.get(User, user_id)
    assert found is not None
    return found


async def _journey(
    session: AsyncSession,
    built: Built,
    booth: str,
    person: User,
    journey: str,
    slot: InterviewSlot | None,
) -> object | None:
    """Apply and go as far as `journey` before the interviews; the booked interview if any."""
    recruiter = built.recruiters[booth]
    application = await applications.apply(
        session, candidate=person, offer=built.offers[booth], message=""
    )
    if journey == "withdrawn":
        await applications.set_status(session, application, ApplicationStatus.WITHDRAWN, by=person)
    if journey in ("applied", "withdrawn"):
        return None
    await applications.set_status(session, application, ApplicationStatus.SHORTLISTED, by=recruiter)
    if journey == "dropped":
        await applications.set_status(
            session, application, ApplicationStatus.NOT_RETAINED, by=recruiter
        )
    if journey in ("shortlisted", "dropped"):
        return None
    assert slot is not None
    invitation = await interviews.invite(session, by=recruiter, application=application)
    booked = await interviews.book(
        session, by=person, invitation=invitation, slot=slot, mode=InterviewMode.VIDEO
    )
    if journey == "cancelled":
        await interviews.cancel(session, by=person, interview=booked, reason="Un empêchement.")
        return None
    return booked if journey != "booked" else None


async def _record(session: AsyncSession, built: Built, booked: object, journey: str) -> None:
    recruiter = built.recruiters["A"]
    outcome = {"held": InterviewOutcome.UNDECIDED}.get(journey, InterviewOutcome.HIRED)
    await interviews.record(
        session,
        by=recruiter,
        interview=booked,  # type: ignore[arg-type]
        attended=journey != "no_show",
        outcome=outcome,
    )
    if journey == "hired":
        # The recruiter's confirmation at J+30 (fair.outcomes will own its writer): a CDI.
        interview = booked
        invitation = await interviews.get_invitation(session, interview.invitation_id)  # type: ignore[attr-defined]
        session.add(
            HireConfirmation(
                application_id=invitation.application_id,
                edition_id=built.edition.id,
                booth_id=built.booths["A"].id,
                candidate_id=invitation.candidate_id,
                hired=True,
                contract="cdi",
                months=None,
                stage=30,
                confirmed_by_id=recruiter.id,
                confirmed_at=clock.now(),
            )
        )
        await session.flush()
