"""A demo edition, live now, built through the domain functions only.

`seed` creates a fictional métropole's job fair: 40 employers with approved booths, exactly 600
offers, and four accounts sharing one known password (admin, organiser, recruiter, candidate).
Offers are drawn from `random.Random(42)`, so two seeds give the same fair.

It also shows interviews and webconferences: a few booths (the demo recruiter's first) publish
interview slots on the next two live days; the demo candidate has a phone interview booked there,
an open invitation from a second booth and a shortlisted application at a third, and three other
candidates (no password) fill the recruiter's agenda. The programme holds five talks, the first
starting within a minute when the live hours allow; the demo candidate is registered to two.

This year's edition wears its organiser's colour, logo, banner and partners' logos, and each
recruiter has a job title and a photo (their initials, drawn: fair.demo_brand). A mission
locale's counsellor follows the demo candidate and a person without e-mail, an agency's
counsellor may search the CV pool, and three candidates are in it, one at each level
(fair.demo_pool).
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accounts,
    applications,
    candidates,
    clock,
    demo_brand,
    demo_cv,
    demo_history,
    demo_pool,
    editions,
    employers,
    geo,
    interviews,
    offers,
    outcomes,
    rome,
    webconferences,
)
from fair.enums import (
    ApplicationStatus,
    BoothStatus,
    Contract,
    EditionStatus,
    Experience,
    InterviewMode,
    Role,
    WebconferenceAccess,
    WorkingTime,
)
from fair.errors import NotFound
from fair.models import (
    Application,
    Booth,
    Edition,
    Employer,
    InterviewInvitation,
    Offer,
    User,
)


def _load() -> dict[str, Any]:
    """The demo's tables: fair/data/demo.toml, package data (pyproject.toml) like the others."""
    text = resources.files("fair").joinpath("data/demo.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


DATA = _load()
PASSWORD: str = DATA["password"]
TERRITORY: str = DATA["edition"]["territory"]
TITLE: str = DATA["edition"]["title"]
ZONE: str = DATA["zone"]
OFFER_COUNT: int = DATA["offer_count"]
ADMIN: str = DATA["accounts"]["admin"]["email"]
ORGANISER: str = DATA["accounts"]["organiser"]["email"]
RECRUITER: str = DATA["accounts"]["recruiter"]["email"]
CANDIDATE: str = DATA["accounts"]["candidate"]["email"]
# Role, e-mail, display name: the accounts printed when the demo starts.
ACCOUNTS = tuple(
    (Role(role), account["email"], account["name"]) for role, account in DATA["accounts"].items()
)


@dataclass(frozen=True)
class DemoEmployer:
    name: str
    naf: str
    size: str
    commune: str
    activity: str
    jobs: tuple[str, ...]


# Fictional employers of the métropole; the first belongs to the demo recruiter.
EMPLOYERS = tuple(
    DemoEmployer(**{**employer, "jobs": tuple(employer["jobs"])}) for employer in DATA["employers"]
)
SIZE_WEIGHT: dict[str, int] = DATA["size_weights"]
CAPITALS: dict[str, str] = DATA["capitals"]
MISSIONS: dict[str, list[str]] = {k: v["missions"] for k, v in DATA["domains"].items()}
SKILLS: dict[str, list[str]] = {k: v["skills"] for k, v in DATA["domains"].items()}
SOFT_SKILLS: list[str] = DATA["offers"]["soft_skills"]
QUALIFICATIONS: list[str] = DATA["offers"]["qualifications"]
INTROS: list[str] = DATA["offers"]["intros"]
PROFILES: dict[str, str] = DATA["offers"]["profiles"]
CONTRACTS = {Contract(k): v for k, v in DATA["offers"]["contracts"].items()}
CONTRACT_WEIGHTS: dict[Contract, int] = {k: v["weight"] for k, v in CONTRACTS.items()}
_WEIGHTS = DATA["offers"]["weights"]
EXPERIENCE_WEIGHTS = {Experience(k): int(v) for k, v in _WEIGHTS["experience"].items()}
WORKING_TIME_WEIGHTS = {WorkingTime(k): int(v) for k, v in _WEIGHTS["working_time"].items()}
POSITIONS_WEIGHTS = {int(k): int(v) for k, v in _WEIGHTS["positions"].items()}
# Where a demo offer not at its employer's commune is: the demo territory around Montpellier.
AREA: list[str] = DATA["offers"]["area"]


def _job_title(label: str) -> str:
    """'Electricien / Electricienne du bâtiment' -> 'Électricien / Électricienne du bâtiment'."""
    return " ".join(CAPITALS.get(word, word) for word in label.split(" "))


def siret(n: int) -> str:
    """A valid SIRET (Luhn check digit) for demo employer number `n`."""
    body = f"{812345000 + n * 1013:09d}0001"
    return next(body + d for d in "0123456789" if employers.siret_valid(body + d))


def edition_input(now: datetime) -> editions.EditionInput:
    """Applications opened 5 days ago and close in 9; live from yesterday to 4 days ahead."""
    local = now.astimezone(ZoneInfo(ZONE))
    return editions.EditionInput(
        title=f"{TITLE} {local.year}",
        territory=TERRITORY,
        partners=DATA["edition"]["partners"],
        description=DATA["edition"]["description"],
        timezone=ZONE,
        applications_open_at=now - timedelta(days=5),
        applications_close_at=now + timedelta(days=9),
        response_deadline=now + timedelta(days=12),
        live_first_day=local.date() - timedelta(days=1),
        live_last_day=local.date() + timedelta(days=4),
        opens=time(8, 0),
        closes=time(20, 0),
        weekdays=frozenset(range(7)),
    )


async def find(session: AsyncSession) -> Edition | None:
    """The demo edition, if this database holds one (the one the demo organiser created)."""
    organiser = await accounts.by_email(session, ORGANISER)
    if organiser is None:
        return None
    found = await session.scalar(
        select(Edition.id)
        .where(Edition.created_by_id == organiser.id, Edition.territory == TERRITORY)
        .order_by(Edition.id.desc())
    )
    return await editions.get(session, found) if found is not None else None


async def is_live(session: AsyncSession, now: datetime | None = None) -> bool:
    edition = await find(session)
    return edition is not None and editions.status_at(edition, now) == EditionStatus.LIVE


async def seed(session: AsyncSession, *, now: datetime | None = None) -> dict[str, object]:
    """Build the demo fair (flushes, never commits); returns what to print for the visitor.

    Last year's edition comes first, with its whole history, then this year's with what has
    happened up to now (fair.demo_history); the clock moves to each moment and comes back as
    it was found.
    """
    now = now or clock.now()
    was = clock.frozen()
    try:
        return await _seed(session, now, was)
    finally:
        clock.set_now(was)


async def _seed(session: AsyncSession, now: datetime, was: datetime | None) -> dict[str, object]:
    last_year = now - LAST_YEAR
    clock.set_now(last_year - PREPARATION)
    users = {
        role: await accounts.create_user(
            session, email=email, name=name, password=PASSWORD, role=role
        )
        for role, email, name in ACCOUNTS
    }
    organiser = users[Role.ORGANISER]
    owners = [
        users[Role.RECRUITER] if n == 0 else await _owner(session, n) for n in range(len(EMPLOYERS))
    ]
    companies = [
        await _employer(session, spec, n, owner)
        for n, (spec, owner) in enumerate(zip(EMPLOYERS, owners, strict=True))
    ]
    crowd = await demo_history.people(session, cv=cv_pdf("CV"), area=AREA)
    past = await _edition(session, organiser, last_year)
    past_rng = random.Random(demo_history.SEED)
    played = []
    for n in demo_history.PAST.booths:
        booth = await _request(session, companies[n], owners[n], past, organiser)
        data = [_offer(past_rng, EMPLOYERS[n]) for _ in range(demo_history.PAST.offers_per_booth)]
        made = [await offers.create(session, booth=booth, data=d) for d in data]
        played.append(demo_history.Stand(booth, owners[n], made))
    await demo_history.play(
        session,
        edition=past,
        organiser=organiser,
        stands=played,
        crowd=crowd,
        plan=demo_history.PAST,
        until=_over(past),
    )
    clock.set_now(now - PREPARATION)
    edition = await _edition(session, organiser, now)
    rng = random.Random(42)
    booths = [
        (spec, await _request(session, company, owner, edition, organiser))
        for spec, company, owner in zip(EMPLOYERS, companies, owners, strict=True)
    ]
    made_by: dict[int, list[Offer]] = {booth.id: [] for _spec, booth in booths}
    for spec, booth in _spread(rng, booths):
        made_by[booth.id].append(await offers.create(session, booth=booth, data=_offer(rng, spec)))
    await demo_history.play(
        session,
        edition=edition,
        organiser=organiser,
        stands=[
            demo_history.Stand(booth, owner, made_by[booth.id])
            for (_spec, booth), owner in zip(booths, owners, strict=True)
        ],
        crowd=crowd,
        plan=demo_history.CURRENT,
        until=now,
    )
    clock.set_now(was)  # what is live now is seeded with the clock as it was found
    stands = [
        Stand(booth, owner, made_by[booth.id][0])
        for (_spec, booth), owner in zip(booths, owners, strict=True)
    ]
    await _candidate(session, users[Role.CANDIDATE])
    others = [await _other_candidate(session, n, name) for n, name in enumerate(OTHER_CANDIDATES)]
    await _interviews(session, now, stands, users[Role.CANDIDATE], others)
    await _webconferences(
        session, now, edition, organiser, stands, [users[Role.CANDIDATE], *others]
    )
    await demo_brand.dress(
        session,
        edition=edition,
        organiser=organiser,
        recruiters=owners,
        brand=DATA["edition"]["brand"],
        people=DATA["recruiters"],
    )
    await demo_pool.seed(
        session,
        edition=edition,
        organiser=organiser,
        candidate=users[Role.CANDIDATE],
        others=others,
        password_hash=users[Role.CANDIDATE].password_hash,
        cv=cv_pdf(demo_pool.IN_PERSON),
    )
    return _summary(edition)


# Last year's edition is the same weeks a year earlier (364 days: the same weekdays); each
# edition is published some weeks before it opens; last year's story runs to its J+30 follow-up.
LAST_YEAR = timedelta(days=364)
PREPARATION = timedelta(weeks=7)
FOLLOW_UP = timedelta(days=40)


def _over(edition: Edition) -> datetime:
    """When last year's story ends: some days after its follow-up at J+30."""
    return outcomes.ends_at(edition) + FOLLOW_UP


async def _edition(session: AsyncSession, organiser: User, now: datetime) -> Edition:
    edition = await editions.create(session, by=organiser, data=edition_input(now))
    await editions.publish(session, edition)
    return edition


async def summary(session: AsyncSession) -> dict[str, object]:
    """What `seed` returned, for a database seeded earlier."""
    edition = await find(session)
    if edition is None:
        raise NotFound("This database holds no demo edition.")
    return _summary(edition)


def _summary(edition: Edition) -> dict[str, object]:
    return {
        "edition": edition.slug,
        "title": edition.title,
        "password": PASSWORD,
        "accounts": {role.value: email for role, email, _name in ACCOUNTS}
        | {"counsellor": demo_pool.COUNSELLOR, "agency": demo_pool.AGENCY},
    }


async def _owner(session: AsyncSession, n: int) -> User:
    first, last = DATA["recruiters"]["first_names"], DATA["recruiters"]["last_names"]
    return await accounts.create_user(
        session,
        email=f"recruteur{n:02d}@demo.fair",
        name=f"{first[n % len(first)]} {last[(n // len(first)) % len(last)]}",
        password=None,
        role=Role.RECRUITER,
    )


async def _employer(session: AsyncSession, spec: DemoEmployer, n: int, owner: User) -> Employer:
    place = geo.find(spec.commune)
    assert place is not None, spec.commune
    return await employers.register(
        session,
        by=owner,
        data=employers.EmployerInput(
            name=spec.name,
            siret=siret(n),
            naf_code=spec.naf,
            size=spec.size,
            commune=place.name,
            website=f"https://{editions.slugify(spec.name)[:40]}.example.fr",
            description=f"{spec.name} : {spec.activity} à {place.name}.",
            video_url="",
        ),
    )


async def _request(
    session: AsyncSession, employer: Employer, owner: User, edition: Edition, organiser: User
) -> Booth:
    """The employer's booth in the edition, requested and approved."""
    booth = await employers.request_booth(session, by=owner, employer=employer, edition=edition)
    await employers.set_status(session, booth, BoothStatus.APPROVED, by=organiser)
    return booth


def _spread(
    rng: random.Random, booths: list[tuple[DemoEmployer, Booth]]
) -> list[tuple[DemoEmployer, Booth]]:
    """Exactly OFFER_COUNT (employer, booth) pairs: three each, the rest weighted by size."""
    picks = [pair for pair in booths for _ in range(3)]
    weights = [SIZE_WEIGHT[spec.size] for spec, _booth in booths]
    picks += rng.choices(booths, weights=weights, k=OFFER_COUNT - len(picks))
    return picks


def _offer(rng: random.Random, spec: DemoEmployer) -> offers.OfferInput:
    code = rng.choice(spec.jobs)
    job = rome.job(code)
    assert job is not None, code
    domain = code[0]
    contract = _draw(rng, CONTRACT_WEIGHTS)
    experience = _draw(rng, EXPERIENCE_WEIGHTS)
    working_time = _draw(rng, WORKING_TIME_WEIGHTS)
    place = geo.find(spec.commune if rng.random() < 0.6 else rng.choice(AREA))
    assert place is not None
    title = _job_title(job.label)
    beginner = experience == Experience.BEGINNER
    data = offers.OfferInput(
        title=f"{title} (H/F)",
        description=_description(rng, spec, title, place.name, domain, contract, experience),
        rome_code=code,
        contract=contract.value,
        working_time=working_time.value,
        commune=place.name,
        postcode=place.postcode,
        experience=experience.value,
        remote=domain in "CEM" and rng.random() < 0.4,
        positions=_draw(rng, POSITIONS_WEIGHTS),
        salary=_salary(rng, contract, experience),
        qualification="" if beginner and rng.random() < 0.5 else rng.choice(QUALIFICATIONS),
        skills=_skills(rng, domain),
        insertion_clause=rng.random() < (0.3 if domain in "FK" else 0.1),
        open_seniors=rng.random() < 0.25,
        open_under26=contract == Contract.APPRENTICESHIP or rng.random() < 0.2,
        open_disabled=rng.random() < 0.35,
        no_diploma=beginner and rng.random() < 0.6,
    )
    return data


T = TypeVar("T")


def _draw(rng: random.Random, weights: dict[T, int]) -> T:
    """One key of `weights`, drawn in proportion to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _description(
    rng: random.Random,
    spec: DemoEmployer,
    title: str,
    commune: str,
    domain: str,
    contract: Contract,
    experience: Experience,
) -> str:
    job = " / ".join(part[0].lower() + part[1:] for part in title.split(" / "))
    intro = rng.choice(INTROS).format(
        employer=spec.name, activity=spec.activity, commune=commune, job=job
    )
    missions = rng.sample(MISSIONS[domain], k=min(3, len(MISSIONS[domain])))
    lines = [
        intro,
        "",
        "Vos missions :",
        *(f"- {m[0].upper()}{m[1:]} ;" for m in missions[:-1]),
        f"- {missions[-1][0].upper()}{missions[-1][1:]}.",
        "",
        f"Votre profil : {PROFILES[experience.value]}",
        f"Contrat : {_contract_text(contract)}.",
        "Rencontrez-nous pendant les journées en direct du forum !",
    ]
    return "\n".join(lines)


def _contract_text(contract: Contract) -> str:
    text: str = CONTRACTS[contract]["text"]
    return text


def _salary(rng: random.Random, contract: Contract, experience: Experience) -> str:
    if contract == Contract.APPRENTICESHIP:
        return "Selon la grille de l'apprentissage"
    if contract == Contract.INTERNSHIP:
        return "Gratification légale de stage"
    low = 1800 + 100 * rng.randint(0, 6) + (300 if experience == Experience.REQUIRED else 0)
    return f"{low:,} € à {low + 300:,} € brut mensuel".replace(",", " ")


def _skills(rng: random.Random, domain: str) -> list[str]:
    pool = SKILLS[domain]
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))
    return [*chosen, rng.choice(SOFT_SKILLS)]


@dataclass(frozen=True)
class Stand:
    """A demo booth with its owner (a recruiter) and one of its offers."""

    booth: Booth
    owner: User
    offer: Offer


INTERVIEWS = DATA["interviews"]
# Booths (indexes in EMPLOYERS) publishing interview slots: the demo recruiter's first; the demo
# candidate is booked at the first, invited by the second, shortlisted by the third.
INTERVIEW_BOOTHS: list[int] = INTERVIEWS["booths"]
# Day (live days from today), local start and end, modes: two stretches per booth.
AVAILABILITY = tuple(
    (a["day"], a["start"], a["end"], frozenset(InterviewMode(m) for m in a["modes"]))
    for a in INTERVIEWS["availability"]
)
OTHER_CANDIDATES: list[str] = DATA["candidates"]["others"]
CV_LINES: dict[str, list[str]] = DATA["candidates"]["cv"]
# How the other candidates' interviews at the demo recruiter's booth were booked: by themselves
# (booked) or by the recruiter (pending their confirmation).
OTHER_BOOKINGS = tuple(
    (InterviewMode(b["mode"]), bool(b["by_candidate"])) for b in INTERVIEWS["other_bookings"]
)


@dataclass(frozen=True)
class Talk:
    title: str
    description: str
    day: int  # live days from today
    at: time
    minutes: int
    capacity: int
    booth: int | None = None  # a booth's talk (index in EMPLOYERS): its recruiter presents it too


TALKS = tuple(Talk(**talk) for talk in DATA["talks"])
# The first talk starts at the next whole minute when that fits the live hours, so the programme
# shows it live within a minute of seeding (scheduling refuses a start in the past).
SOON_MINUTES = 1


async def _interviews(
    session: AsyncSession, now: datetime, stands: list[Stand], candidate: User, others: list[User]
) -> None:
    """Slots at a few booths; the demo candidate's phone interview at the demo recruiter's
    booth, an open invitation and a shortlisted application; other candidates' bookings."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    chosen = [stands[n] for n in INTERVIEW_BOOTHS]
    for stand in chosen:
        await _availability(session, stand, today)
    mine, invited, shortlisted = chosen
    invitation = await _invite(session, mine, candidate, INTERVIEWS["booked"])
    slots = await interviews.free_slots(session, mine.booth.id)
    phone = [s for s in slots if InterviewMode.PHONE in interviews.slot_modes(s)]
    await interviews.book(
        session, by=candidate, invitation=invitation, slot=phone[2], mode=InterviewMode.PHONE
    )
    await _invite(session, invited, candidate, INTERVIEWS["invited"])
    await _shortlist(session, shortlisted, candidate, INTERVIEWS["shortlisted"])
    for other, (mode, by_candidate) in zip(others, OTHER_BOOKINGS, strict=True):
        invitation = await _invite(session, mine, other, INTERVIEWS["others"])
        free = await interviews.free_slots(session, mine.booth.id)
        slot = next(s for s in free if mode in interviews.slot_modes(s))
        by = other if by_candidate else mine.owner
        await interviews.book(session, by=by, invitation=invitation, slot=slot, mode=mode)


async def _availability(session: AsyncSession, stand: Stand, today: date) -> None:
    for day, start, end, modes in AVAILABILITY:
        data = interviews.AvailabilityInput(
            day=today + timedelta(days=day),
            start=start,
            end=end,
            length_minutes=30,
            buffer_minutes=10,
            modes=modes,
            staff_id=stand.owner.id,
        )
        await interviews.publish_availability(session, by=stand.owner, booth=stand.booth, data=data)


async def _shortlist(
    session: AsyncSession, stand: Stand, candidate: User, message: str
) -> Application:
    application = await applications.apply(
        session, candidate=candidate, offer=stand.offer, message=message
    )
    await applications.set_status(
        session, application, ApplicationStatus.SHORTLISTED, by=stand.owner
    )
    return application


async def _invite(
    session: AsyncSession, stand: Stand, candidate: User, message: str
) -> InterviewInvitation:
    application = await _shortlist(session, stand, candidate, message)
    return await interviews.invite(session, by=stand.owner, application=application)


async def _webconferences(
    session: AsyncSession,
    now: datetime,
    edition: Edition,
    organiser: User,
    stands: list[Stand],
    audience: list[User],
) -> None:
    """The programme (TALKS); the demo candidate (first of `audience`) registers to the first
    two talks, the other candidates to the first."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    scheduled = []
    for n, talk in enumerate(TALKS):
        stand = stands[talk.booth] if talk.booth is not None else None
        starts_at = _talk_start(edition, today, talk)
        if n == 0:
            starts_at = _soon(edition, now, talk) or starts_at
        presenters = [stand.owner.id, organiser.id] if stand else [organiser.id]
        data = webconferences.WebconferenceInput(
            title=talk.title,
            description=talk.description,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=talk.minutes),
            capacity=talk.capacity,
            access=WebconferenceAccess.OPEN,
            presenter_ids=presenters,
        )
        scheduled.append(
            await webconferences.schedule(
                session,
                by=stand.owner if stand else organiser,
                edition=edition,
                booth=stand.booth if stand else None,
                data=data,
            )
        )
    candidate, *others = audience
    for webconference in scheduled[:2]:
        await webconferences.register(session, candidate=candidate, webconference=webconference)
    for other in others:
        await webconferences.register(session, candidate=other, webconference=scheduled[0])


def _talk_start(edition: Edition, today: date, talk: Talk) -> datetime:
    at = datetime.combine(today + timedelta(days=talk.day), talk.at, ZoneInfo(edition.timezone))
    return at.astimezone(UTC)


def _soon(edition: Edition, now: datetime, talk: Talk) -> datetime | None:
    """The next whole minute (SOON_MINUTES ahead, truncated), if the talk fits there."""
    real = max(now, clock.now())  # scheduling checks the start against the platform's clock
    start = real.replace(second=0, microsecond=0) + timedelta(minutes=SOON_MINUTES)
    end = start + timedelta(minutes=talk.minutes)
    return start if webconferences.within_live_hours(edition, start, end) else None


async def _other_candidate(session: AsyncSession, n: int, name: str) -> User:
    """A candidate with a CV and no password (no hashing: seeding stays fast)."""
    user = await accounts.create_user(
        session,
        email=f"candidat{n + 1:02d}@demo.fair",
        name=name,
        password=None,
        role=Role.CANDIDATE,
    )
    await candidates.set_cv(session, user, filename="cv.pdf", data=cv_pdf(name))
    return user


async def _candidate(session: AsyncSession, user: User) -> None:
    profile = DATA["candidates"]
    await candidates.update(
        session,
        user,
        data=candidates.ProfileInput(
            name=user.name,
            phone=profile["phone"],
            commune=profile["commune"],
            wanted_jobs=profile["wanted_jobs"],
        ),
    )
    await candidates.set_cv(session, user, filename=profile["cv_filename"], data=cv_pdf(user.name))


def cv_pdf(name: str) -> bytes:
    """The person's CV: a one-page PDF with a text layer (fair.demo_cv), its lines from the
    demo's data (the name alone for anyone else)."""
    return demo_cv.cv(name, CV_LINES.get(name, ()))
