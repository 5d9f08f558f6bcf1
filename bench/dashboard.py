"""The organiser's dashboard and the candidates' funnel export at scale, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/dashboard.py [--requests 100] [--backends sqlite,postgresql]
       .venv/bin/python bench/dashboard.py --small      # a smoke run at a tiny size

For each backend: a fresh database (a SQLite file in a temporary directory; a throwaway
PostgreSQL database, dropped afterwards), migrated, holding one live edition of 36,000
registered candidates, 200 approved booths, 600 offers, 40,000 applications, 6,000 interviews
(held, missed, booked, cancelled), confirmed hires and candidates' job reports, active days,
and 5 past editions of the same organiser (a third of its people each); 500,000 page-view
counts (one per page and day) over the six. The editions and the accounts that log in are
made by the domain functions; the rest is bulk-inserted (batched INSERTs) with the columns the
domain would write.

The real app is served by uvicorn in a process of its own (its memory is read from
/proc/<pid>/status), without background tasks, and one httpx client logged in as the
organiser times, one request after the other and interleaved:

- the dashboard, `/organiser/editions/{id}` (route `edition_dashboard`), unfiltered;
- the reference: the same handler, the same template and permission checks, with the calls
  that read the figures (`insight.choices`, `insight.dashboard`, `outcome_figures.summary`)
  answered from what they returned on the first reference request, held in memory. The ratio
  is what computing the figures costs.

Then the full CSV export of the candidates' funnel (POST, `edition_file`,
candidate_funnel.csv) is streamed twice: its time to the last byte and the server's RSS growth
(sampled every 20 ms during the download) are checked against the goals; the first, cold, one
decides. After one dashboard request the server lists the statements it ran with their times:
the bench prints how many and the slowest, to say where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import fast_stems, free_port, pct, pg_scratch, settle  # noqa: E402

from fair import (  # noqa: E402
    accounts,
    applications,
    clock,
    db,
    demo,
    editions,
    insight,
    migrations,
    offers,
    outcome_figures,
    search,
    settings,
)
from fair.enums import (  # noqa: E402
    ApplicationStatus,
    BoothStatus,
    Contract,
    InterviewMode,
    InterviewOutcome,
    InterviewStatus,
    InvitationStatus,
    Role,
)
from fair.models import (  # noqa: E402
    ActiveDay,
    Application,
    ApplicationEvent,
    Booth,
    CandidateProfile,
    EditionCandidate,
    Employer,
    HireConfirmation,
    Interview,
    InterviewInvitation,
    InterviewSlot,
    JobReport,
    Offer,
    PageView,
    PriorityDeclaration,
    User,
)

PG_NAME = "fair_bench_dashboard"
PASSWORD = "bench-organiser-password"
GOAL_MS = {"sqlite": 300.0, "postgresql": 150.0}
EXPORT_SECONDS = 3.0
EXPORT_MB = 50.0
BATCH = 5000
PAST_SHARE = 3  # a past edition has a third of the current one's people


@dataclass(frozen=True)
class Sizes:
    candidates: int
    booths: int
    offers: int
    applications: int
    interviews: int
    page_views: int
    past_editions: int


FULL = Sizes(36_000, 200, 600, 40_000, 6_000, 500_000, 5)
SMALL = Sizes(400, 20, 60, 450, 60, 6_000, 2)


# Building the database ------------------------------------------------------------------------


@dataclass
class Built:
    edition_id: int
    seconds: float
    rows: dict[str, int]


class Writer:
    """Batched INSERTs into one table, counted."""

    def __init__(self, session: AsyncSession, rows: dict[str, int]) -> None:
        self.session, self.rows = session, rows

    async def put(self, model: Any, values: Sequence[dict[str, Any]]) -> None:
        name = model.__tablename__
        for start in range(0, len(values), BATCH):
            # Core's executemany (not the ORM's bulk path): the table, plain dictionaries.
            await self.session.execute(insert(model.__table__), list(values[start : start + BATCH]))
        self.rows[name] = self.rows.get(name, 0) + len(values)


async def build(url: str, sizes: Sizes) -> Built:
    """Migrate; editions and log-in accounts through the domain; the rest in bulk."""
    await migrations.upgrade_async(url)
    engine = db.create_engine(url)
    maker = db.sessionmaker(engine, write=True)
    started = time.perf_counter()
    rng = random.Random(12)
    now = clock.now()
    rows: dict[str, int] = {}
    async with db.unit_of_work(maker) as session:
        organiser = await accounts.create_user(
            session, email="org@bench.fair", name="Org", password=PASSWORD, role=Role.ORGANISER
        )
        recruiter = await accounts.create_user(
            session, email="rec@bench.fair", name="Rec", password=None, role=Role.RECRUITER
        )
        made = []
        for years in range(sizes.past_editions, -1, -1):  # the oldest first, the current last
            data = demo.edition_input(now - timedelta(days=364 * years))
            edition = await editions.create(session, by=organiser, data=data)
            await editions.publish(session, edition)
            made.append(edition)
        ids = [(e.id, e.applications_open_at, e.live_days[0].day) for e in made]
        organiser_id, recruiter_id = organiser.id, recruiter.id
    async with db.unit_of_work(maker) as session:
        put = Writer(session, rows)
        employers = await _employers(put, sizes, recruiter_id, now)
        staff = await _recruiters(put, sizes, now)  # one per employer, in the same order
        candidates = await _candidates(put, rng, sizes, now)
        per_edition = max(1, sizes.page_views // (len(ids) * (sizes.booths + sizes.offers)))
        for n, (edition_id, opens, first_day) in enumerate(ids):
            current = n == len(ids) - 1
            share = 1 if current else PAST_SHARE
            booths = await _booths(put, edition_id, employers, organiser_id, opens)
            staff_of = dict(zip(booths, staff, strict=True))
            offer_rows = await _offers(put, rng, edition_id, booths, sizes.offers, opens)
            people = candidates if current else rng.sample(candidates, len(candidates) // share)
            await _edition_history(
                put, rng, edition_id, opens, people, offer_rows, staff_of, sizes, share
            )
            await _page_views(put, rng, edition_id, booths, offer_rows, first_day, per_edition)
    # The rows went in with core statements, which the funnel's progress listeners do not see:
    # its kept steps are computed once here, as migration 0021 does for existing editions.
    async with db.unit_of_work(maker) as session:
        for edition_id, _opens, _first_day in ids:
            await insight.progress.rebuild(session, edition_id)
    elapsed = time.perf_counter() - started
    await settle(engine, url)
    await engine.dispose()
    return Built(ids[-1][0], elapsed, rows)


async def _employers(put: Writer, sizes: Sizes, recruiter_id: int, now: datetime) -> list[int]:
    values = []
    for n in range(sizes.booths):
        spec = demo.EMPLOYERS[n % len(demo.EMPLOYERS)]
        values.append(
            {
                "name": f"{spec.name} {n // len(demo.EMPLOYERS) + 1}",
                "siret": demo.siret(n),
                "naf_code": spec.naf,
                "sector": "",
                "size": spec.size,
                "commune": spec.commune,
                "created_at": now,
                "created_by_id": recruiter_id,
            }
        )
    await put.put(Employer, values)
    found = await put.session.scalars(select(Employer.id).order_by(Employer.id))
    return list(found)


async def _recruiters(put: Writer, sizes: Sizes, now: datetime) -> list[int]:
    users = [
        {
            "email": f"recruiter{n}@bench.fair",
            "name": f"Recruiter {n}",
            "password_hash": "!",
            "role": Role.RECRUITER.value,
            "locale": "fr",
            "auth_version": f"{n:016x}",
            "is_active": True,
            "created_at": now,
            "confirmed_at": now,
        }
        for n in range(sizes.booths)
    ]
    await put.put(User, users)
    found = await put.session.scalars(
        select(User.id).where(User.email.like("recruiter%@bench.fair")).order_by(User.id)
    )
    return list(found)


async def _candidates(put: Writer, rng: random.Random, sizes: Sizes, now: datetime) -> list[int]:
    """Candidate accounts (no usable password), a profile with a commune, and for some the
    optional birth year."""
    users = [
        {
            "email": f"candidate{n}@bench.fair",
            "name": f"Candidate {n}",
            "password_hash": "!",
            "role": Role.CANDIDATE.value,
            "locale": "fr",
            "auth_version": f"{n:016x}",
            "is_active": True,
            "created_at": now,
            "confirmed_at": now,
        }
        for n in range(sizes.candidates)
    ]
    await put.put(User, users)
    ids = list(
        await put.session.scalars(
            select(User.id).where(User.role == Role.CANDIDATE.value).order_by(User.id)
        )
    )
    await put.put(
        CandidateProfile,
        [
            {"user_id": u, "commune": rng.choice(demo.AREA), "updated_at": now, "phone": ""}
            for u in ids
        ],
    )
    await put.put(
        PriorityDeclaration,
        [
            {"user_id": u, "consented_at": now, "birth_year": rng.randint(1960, 2007)}
            for u in ids
            if rng.random() < 0.4
        ],
    )
    return ids


async def _booths(
    put: Writer, edition_id: int, employers: list[int], organiser_id: int, at: datetime
) -> list[int]:
    await put.put(
        Booth,
        [
            {
                "edition_id": edition_id,
                "employer_id": e,
                "status": BoothStatus.APPROVED.value,
                "requested_at": at,
                "decided_at": at,
                "decided_by_id": organiser_id,
            }
            for e in employers
        ],
    )
    found = await put.session.scalars(
        select(Booth.id).where(Booth.edition_id == edition_id).order_by(Booth.id)
    )
    return list(found)


async def _offers(
    put: Writer, rng: random.Random, edition_id: int, booths: list[int], count: int, at: datetime
) -> list[tuple[int, int]]:
    """Offers drawn like the demo's, each row built by offers.check and offers._apply as
    offers.create does (stems memoised); returns (offer id, booth id) pairs."""
    columns = [c.key for c in Offer.__table__.columns if c.key != "id"]
    original, search.stems = search.stems, fast_stems
    values = []
    try:
        for i in range(count):
            booth_id = booths[i % len(booths)]
            data = demo._offer(rng, demo.EMPLOYERS[i % len(demo.EMPLOYERS)])
            offer = Offer(
                booth_id=booth_id,
                edition_id=edition_id,
                created_at=at,
                updated_at=at,
                published=True,
            )
            offers._apply(offer, data, *offers.check(data))
            values.append({c: getattr(offer, c) for c in columns})
    finally:
        search.stems = original
    await put.put(Offer, values)
    found = await put.session.execute(
        select(Offer.id, Offer.booth_id).where(Offer.edition_id == edition_id).order_by(Offer.id)
    )
    return [(o, b) for o, b in found.all()]


# An application's fate: its status and whether it had an interview (and how that went).
FATES = (
    (ApplicationStatus.SUBMITTED, None, 40),
    (ApplicationStatus.IN_REVIEW, None, 10),
    (ApplicationStatus.SHORTLISTED, None, 8),
    (ApplicationStatus.NOT_RETAINED, None, 22),
    (ApplicationStatus.WITHDRAWN, None, 3),
)
INTERVIEW_FATES = (
    (ApplicationStatus.INTERVIEWED, InterviewStatus.HELD, 30),
    (ApplicationStatus.HIRED, InterviewStatus.HELD, 20),
    (ApplicationStatus.NOT_RETAINED, InterviewStatus.HELD, 15),
    (ApplicationStatus.NO_SHOW, InterviewStatus.NO_SHOW, 12),
    (ApplicationStatus.INTERVIEW_SCHEDULED, InterviewStatus.BOOKED, 18),
    (ApplicationStatus.INTERVIEW_PROPOSED, InterviewStatus.CANCELLED, 5),
)


def _pick(rng: random.Random, table: Sequence[tuple[Any, Any, int]]) -> tuple[Any, Any]:
    found = rng.choices(table, weights=[w for *_x, w in table])[0]
    return found[0], found[1]


async def _edition_history(
    put: Writer,
    rng: random.Random,
    edition_id: int,
    opens: datetime,
    people: list[int],
    offer_rows: list[tuple[int, int]],
    staff_of: dict[int, int],
    sizes: Sizes,
    share: int,
) -> None:
    """Registrations, active days, applications with their history, interviews, outcomes."""
    await put.put(
        EditionCandidate,
        [
            {
                "edition_id": edition_id,
                "user_id": u,
                "registered_at": opens - timedelta(minutes=rng.randint(0, 60 * 24 * 40)),
            }
            for u in people
        ],
    )
    first_day = opens.date()
    active = {
        (u, first_day + timedelta(days=d))
        for u in people
        if rng.random() < 0.6
        for d in rng.sample(range(8), rng.randint(1, 3))
    }
    await put.put(
        ActiveDay, [{"edition_id": edition_id, "user_id": u, "day": d} for u, d in sorted(active)]
    )
    n_apps = sizes.applications // share
    n_interviews = sizes.interviews // share
    pairs: set[tuple[int, int]] = set()
    applicants = people[: max(1, len(people) * 3 // 5)]
    while len(pairs) < n_apps:
        pairs.add((rng.choice(applicants), rng.randrange(len(offer_rows))))
    ordered = sorted(pairs)
    rng.shuffle(ordered)
    interviewed = set(range(n_interviews))  # the first n of the shuffled applications
    apps, fates = [], []
    for i, (user_id, index) in enumerate(ordered):
        offer_id, booth_id = offer_rows[index]
        status, meeting = _pick(rng, INTERVIEW_FATES if i in interviewed else FATES)
        at = opens + timedelta(minutes=rng.randint(0, 60 * 24 * 9))
        # What applications.set_status writes on the first move into FROM_SHORTLIST.
        reached = meeting is not None or status in applications.FROM_SHORTLIST
        apps.append(
            {
                "offer_id": offer_id,
                "booth_id": booth_id,
                "edition_id": edition_id,
                "candidate_id": user_id,
                "status": status.value,
                "created_at": at,
                "status_changed_at": at + timedelta(hours=30),
                "shortlisted_at": at + timedelta(hours=20) if reached else None,
                "message": "",
            }
        )
        fates.append((status, meeting))
    await put.put(Application, apps)
    app_ids = list(
        await put.session.scalars(
            select(Application.id)
            .where(Application.edition_id == edition_id)
            .order_by(Application.id)
        )
    )
    await _application_events(put, app_ids, apps, fates, staff_of)
    await _interviews(put, rng, app_ids, apps, fates, staff_of, opens)
    await _outcomes(put, rng, edition_id, app_ids, apps, people, staff_of)


async def _application_events(
    put: Writer,
    app_ids: list[int],
    apps: list[dict[str, Any]],
    fates: list[tuple[ApplicationStatus, Any]],
    staff_of: dict[int, int],
) -> None:
    """Each application's moves: through "shortlisted" for those that got that far (the funnel
    reads the history: shortlisted then not retained still counts)."""
    values = []
    for app_id, app, (status, meeting) in zip(app_ids, apps, fates, strict=True):
        path = [ApplicationStatus.SUBMITTED]
        if meeting is not None or status == ApplicationStatus.SHORTLISTED:
            path.append(ApplicationStatus.SHORTLISTED)
        if meeting is not None:
            path.append(ApplicationStatus.INTERVIEW_PROPOSED)
            if meeting != InterviewStatus.CANCELLED:
                path.append(ApplicationStatus.INTERVIEW_SCHEDULED)
            if meeting == InterviewStatus.HELD:
                path.append(ApplicationStatus.INTERVIEWED)
        if path[-1] != status:
            path.append(status)
        for a, b in zip(path, path[1:], strict=False):
            values.append(
                {
                    "application_id": app_id,
                    "from_status": a.value,
                    "to_status": b.value,
                    "by_user_id": staff_of[app["booth_id"]],
                    "created_at": app["status_changed_at"],
                }
            )
    await put.put(ApplicationEvent, values)


async def _interviews(
    put: Writer,
    rng: random.Random,
    app_ids: list[int],
    apps: list[dict[str, Any]],
    fates: list[tuple[ApplicationStatus, Any]],
    staff_of: dict[int, int],
    opens: datetime,
) -> None:
    """A slot, an invitation and an interview for each application that had one: each booth's
    recruiter meets candidates 12 a day from the fourth day after applications open."""
    met = [(i, f) for i, f in enumerate(fates) if f[1] is not None]
    slots, invitations = [], []
    taken: dict[int, int] = {}
    first = opens.replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=4)
    for i, _fate in met:
        booth_id = apps[i]["booth_id"]
        k = taken[booth_id] = taken.get(booth_id, -1) + 1
        starts = first + timedelta(days=k // 12, minutes=40 * (k % 12))
        slots.append(
            {
                "booth_id": booth_id,
                "staff_id": staff_of[booth_id],
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=30),
                "modes": "video phone chat",
                "created_at": apps[i]["created_at"],
            }
        )
        invitations.append(
            {
                "application_id": app_ids[i],
                "booth_id": apps[i]["booth_id"],
                "candidate_id": apps[i]["candidate_id"],
                "invited_by_id": staff_of[apps[i]["booth_id"]],
                "status": InvitationStatus.CLOSED.value,
                "active_key": None,
                "created_at": apps[i]["created_at"],
            }
        )
    first_slot = await _next_id(put, InterviewSlot)
    first_invitation = await _next_id(put, InterviewInvitation)
    await put.put(InterviewSlot, slots)
    await put.put(InterviewInvitation, invitations)
    slot_ids = await _ids_from(put, InterviewSlot, first_slot)
    invitation_ids = await _ids_from(put, InterviewInvitation, first_invitation)
    modes = list(InterviewMode)
    values = []
    for n, (i, (status, meeting)) in enumerate(met):
        slot = slots[n]
        outcome = None
        if meeting == InterviewStatus.HELD:
            outcome = (
                InterviewOutcome.HIRED
                if status == ApplicationStatus.HIRED
                else InterviewOutcome.NOT_RETAINED
                if status == ApplicationStatus.NOT_RETAINED
                else InterviewOutcome.UNDECIDED
            ).value
        values.append(
            {
                "uid": f"bench-{slot_ids[n]}@bench.fair",
                "slot_id": slot_ids[n],
                "invitation_id": invitation_ids[n],
                "booth_id": slot["booth_id"],
                "candidate_id": apps[i]["candidate_id"],
                "recruiter_id": staff_of[slot["booth_id"]],
                "starts_at": slot["starts_at"],
                "ends_at": slot["ends_at"],
                "mode": rng.choice(modes).value,
                "status": meeting.value,
                "active_key": 1 if meeting == InterviewStatus.BOOKED else None,
                "created_at": slot["created_at"],
                "updated_at": slot["starts_at"],
                "outcome": outcome,
                "room_secret": f"{slot_ids[n]:032x}",
            }
        )
    await put.put(Interview, values)


async def _next_id(put: Writer, model: Any) -> int:
    top = await put.session.scalar(select(model.id).order_by(model.id.desc()).limit(1))
    return int(top or 0) + 1


async def _ids_from(put: Writer, model: Any, first: int) -> list[int]:
    found = await put.session.scalars(select(model.id).where(model.id >= first).order_by(model.id))
    return list(found)


async def _outcomes(
    put: Writer,
    rng: random.Random,
    edition_id: int,
    app_ids: list[int],
    apps: list[dict[str, Any]],
    people: list[int],
    staff_of: dict[int, int],
) -> None:
    """Most hires confirmed by the recruiter (a CDI or a CDD of 6 months), and a tenth of the
    candidates' own reports."""
    confirmed = [
        {
            "application_id": app_id,
            "edition_id": edition_id,
            "booth_id": app["booth_id"],
            "candidate_id": app["candidate_id"],
            "hired": True,
            "contract": rng.choice([Contract.CDI, Contract.CDD]).value,
            "months": None,
            "stage": 30,
            "confirmed_by_id": staff_of[app["booth_id"]],
            "confirmed_at": app["status_changed_at"] + timedelta(days=40),
        }
        for app_id, app in zip(app_ids, apps, strict=True)
        if app["status"] == ApplicationStatus.HIRED.value and rng.random() < 0.8
    ]
    for row in confirmed:
        if row["contract"] == Contract.CDD.value:
            row["months"] = 6
    await put.put(HireConfirmation, confirmed)
    reports = [
        {
            "edition_id": edition_id,
            "user_id": u,
            "found": found,
            "employer_name": "Ailleurs" if found else "",
            "contract": Contract.CDI.value if found else None,
            "months": None,
            "stage": 30,
            "answered_at": datetime.now(UTC),
        }
        for u in rng.sample(people, len(people) // 10)
        for found in [rng.random() < 0.4]
    ]
    await put.put(JobReport, reports)


async def _page_views(
    put: Writer,
    rng: random.Random,
    edition_id: int,
    booths: list[int],
    offer_rows: list[tuple[int, int]],
    first_day: date,
    days: int,
) -> None:
    """One count per page (booth and offer) and day, over `days` days up to the live days."""
    start = first_day - timedelta(days=days - 8)
    pages = [(b, None) for b in booths] + [(b, o) for o, b in offer_rows]
    values = [
        {
            "edition_id": edition_id,
            "booth_id": booth_id,
            "offer_id": offer_id,
            "day": start + timedelta(days=d),
            "views": rng.randint(1, 60),
        }
        for booth_id, offer_id in pages
        for d in range(days)
    ]
    await put.put(PageView, values)


# The server process ---------------------------------------------------------------------------

HELD = contextvars.ContextVar("held", default=False)
STATEMENTS: list[tuple[float, str]] = []


def serve(url: str, port: int, edition_id: int, data_dir: str) -> None:
    """`--serve`: the app with the reference route and the statement log, on `port`."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from fair.app import create_app
    from fair.web import dashboard

    base = settings.load(
        {"FAIR_ENV": "test", "FAIR_DATA_DIR": data_dir, "FAIR_BACKGROUND_TASKS": "false"}
    )
    conf = replace(base, database_url=url)
    for module, name in HELD_CALLS:
        _hold(module, name)

    async def reference(request: Request) -> Response:
        token = HELD.set(True)
        try:
            return await dashboard.edition_dashboard(request)
        finally:
            HELD.reset(token)

    async def statements(request: Request) -> Response:
        found = {
            "statements": [{"ms": round(ms, 2), "sql": sql} for ms, sql in STATEMENTS],
            "calls": [{"name": n, "ms": round(seconds * 1000, 1)} for n, seconds in CALLS],
        }
        STATEMENTS.clear()
        CALLS.clear()
        return JSONResponse(found)

    _log_statements()
    app = create_app(conf)
    app.router.routes.insert(0, Route("/bench/held/{edition_id:int}", reference))
    app.router.routes.insert(0, Route("/bench/statements", statements))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# What the dashboard's handler calls to read its figures: under the reference each returns what
# its first call there returned (the first reference request computes it).
HELD_CALLS = ((insight, "choices"), (insight, "dashboard"), (outcome_figures, "summary"))
HELD_VALUES: dict[str, Any] = {}
CALLS: list[tuple[str, float]] = []  # (name, seconds) of the real calls, read with the statements


def _hold(module: Any, name: str) -> None:
    real = getattr(module, name)

    async def held(*args: Any, **kwargs: Any) -> Any:
        if not HELD.get():
            started = time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                CALLS.append((f"{module.__name__}.{name}", time.perf_counter() - started))
        if name not in HELD_VALUES:
            HELD_VALUES[name] = await real(*args, **kwargs)
        return HELD_VALUES[name]

    setattr(module, name, held)


def _log_statements() -> None:
    """Every statement's time (ms) and text, kept until /bench/statements reads them."""

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["bench_started"].pop()
        STATEMENTS.append(((time.perf_counter() - started) * 1000, statement))
        del STATEMENTS[:-500]


# Measuring ------------------------------------------------------------------------------------


class Server:
    """`bench/dashboard.py --serve` in a process of its own."""

    def __init__(self, url: str, edition_id: int, data_dir: Path) -> None:
        self.port = free_port()
        args = ["--serve", url, str(self.port), str(edition_id), str(data_dir)]
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server stopped with {self.process.returncode}")
            try:
                if httpx.get(self.base + "/login", timeout=5).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def memory(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in kB."""
        found = {}
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
        return found["VmRSS"], found["VmHWM"]


def csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path).text
    marker = 'name="csrf_token" value="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def login(client: httpx.Client) -> None:
    token = csrf(client, "/login")
    data = {"csrf_token": token, "email": "org@bench.fair", "password": PASSWORD}
    response = client.post("/login", data=data)
    if response.status_code != 303:
        raise SystemExit(f"log-in refused: {response.status_code}")


def measure(
    client: httpx.Client, edition_id: int, args: argparse.Namespace
) -> tuple[list[float], list[float]]:
    """The dashboard's and the reference's latencies (ms), interleaved, after the warm-up."""
    pages = (f"/organiser/editions/{edition_id}", f"/bench/held/{edition_id}")
    timings: tuple[list[float], list[float]] = ([], [])
    started = time.monotonic()
    for i in range(args.warmup + args.requests):
        if i >= args.warmup and time.monotonic() - started > args.budget and timings[0]:
            break
        for path, found in zip(pages, timings, strict=True):
            sent = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - sent) * 1000
            if response.status_code != 200 or "<table" not in response.text:
                raise SystemExit(f"{path}: status {response.status_code}")
            if i >= args.warmup:
                found.append(elapsed)
    return timings


def same_page(client: httpx.Client, edition_id: int) -> bool:
    """Whether the reference shows the same page as the dashboard, but for its CSRF tokens and
    its charts' element ids (numbered in turn by the process)."""
    real = client.get(f"/organiser/editions/{edition_id}").text
    held = client.get(f"/bench/held/{edition_id}").text
    # The language switcher's form comes back to the page it is on.
    held = held.replace(f"/bench/held/{edition_id}", f"/organiser/editions/{edition_id}")
    return _comparable(real) == _comparable(held)


def _comparable(page: str) -> str:
    return re.sub(r"chart-\d+", "chart-n", _without(page, marker='name="csrf_token" value="'))


def _without(page: str, *, marker: str) -> str:
    parts = page.split(marker)
    return parts[0] + "".join(p.split('"', 1)[1] for p in parts[1:])


def statements(client: httpx.Client, edition_id: int) -> dict[str, list[dict[str, Any]]]:
    """The statements one dashboard request ran, and the time spent in each held call."""
    client.get("/bench/statements")  # empties the log
    client.get(f"/organiser/editions/{edition_id}")
    found: dict[str, list[dict[str, Any]]] = client.get("/bench/statements").json()
    return found


@dataclass
class Export:
    seconds: float
    rows: int
    grown_mb: float  # the largest RSS during the download, over the RSS before
    after_mb: float  # RSS after, over before


def export(client: httpx.Client, server: Server, edition_id: int) -> Export:
    """POST the candidates' funnel CSV and read it to the end, sampling the server's RSS."""
    exports_page = f"/organiser/editions/{edition_id}/exports"
    token = csrf(client, exports_page)
    before, _peak = server.memory()
    samples = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            samples.append(server.memory()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = 0
    started = time.perf_counter()
    path = f"{exports_page}/candidate_funnel.csv"
    with client.stream("POST", path, data={"csrf_token": token}) as response:
        if response.status_code != 200:
            raise SystemExit(f"{path}: status {response.status_code}")
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = server.memory()[0]
    samples.append(after)
    return Export(seconds, lines - 1, (max(samples) - before) / 1024, (after - before) / 1024)


def run_backend(name: str, url: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    sizes = SMALL if args.small else FULL
    print(f"\n== {name}: building…", flush=True)
    built = asyncio.run(build(url, sizes))
    total = sum(built.rows.values())
    print(f"   {total:,} rows in {built.seconds:.1f} s: " + ", ".join(
        f"{k} {v:,}" for k, v in sorted(built.rows.items())), flush=True)  # fmt: skip
    lines = []
    with (
        Server(url, built.edition_id, data_dir) as server,
        httpx.Client(base_url=server.base, timeout=300) as client,
    ):
        login(client)
        if not same_page(client, built.edition_id):
            print("   warning: the reference page differs from the dashboard", flush=True)
        logged = statements(client, built.edition_id)
        ran = logged["statements"]
        slowest = sorted(ran, key=lambda s: -s["ms"])[:3]
        calls = ", ".join(f"{c['name']} {c['ms']:.0f} ms" for c in logged["calls"])
        print(f"   time in the calls the reference holds: {calls}", flush=True)
        until = "the first row" if name == "sqlite" else "all rows"  # when execute() returns
        spent = sum(s["ms"] for s in ran)
        print(f"   one dashboard request ran {len(ran)} statements, {spent:.0f} ms in all "
              f"(to {until}); the slowest:", flush=True)  # fmt: skip
        for s in slowest:
            print(f"     {s['ms']:8.1f} ms  {' '.join(s['sql'].split())[:160]}", flush=True)
        before = os.getloadavg()[0]
        real, ref = measure(client, built.edition_id, args)
        print(f"   load average over 1 min: {before:.2f} before the requests, "
              f"{os.getloadavg()[0]:.2f} after", flush=True)  # fmt: skip
        p50, p95, r50, r95 = pct(real, 50), pct(real, 95), pct(ref, 50), pct(ref, 95)
        goal = GOAL_MS[name]
        verdict = "ok" if p95 <= goal else "SLOW"
        line = (
            f"{name:<10} dashboard p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   "
            f"reference p50 {r50:6.1f} ms  p95 {r95:6.1f} ms   ratio p95 {p95 / r95:5.1f}x   "
            f"n={len(real)}   goal p95 <= {goal:.0f} ms: {verdict}"
        )
        print(line, flush=True)
        lines.append(line)
        for run in ("cold", "warm"):
            found = export(client, server, built.edition_id)
            ok = found.seconds <= EXPORT_SECONDS and found.grown_mb < EXPORT_MB
            line = (
                f"{name:<10} export {run}  {found.rows:,} rows in {found.seconds:5.2f} s   "
                f"RSS +{found.grown_mb:5.1f} MB at most (+{found.after_mb:5.1f} MB after)   "
                f"goal <= {EXPORT_SECONDS:.0f} s and < {EXPORT_MB:.0f} MB: "
                f"{'ok' if ok else 'MISSED'}"
            )
            print(line, flush=True)
            if run == "cold":
                lines.append(line)
            if found.rows != sizes.candidates:
                raise SystemExit(f"the export has {found.rows} rows, not {sizes.candidates}")
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        url, port, edition_id, served_from = sys.argv[2:6]
        serve(url, int(port), int(edition_id), served_from)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="a tiny edition (a smoke run)")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--budget", type=float, default=120, help="seconds of requests at most")
    parser.add_argument("--keep", action="store_true", help="keep the databases (EXPLAIN)")
    parser.add_argument("--pg-database", default=PG_NAME, help="the database to create and drop")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="fair-bench-dashboard-") as tmp:
        data_dir = Path(args.keep and str(ROOT / "var" / "bench-dashboard") or tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in args.backends.split(","):
            if name == "sqlite":
                path = data_dir / "bench.db"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                lines += run_backend(name, f"sqlite+aiosqlite:///{path}", args, data_dir)
            else:
                with pg_scratch(args.pg_database, keep=args.keep) as url:
                    lines += run_backend(name, url, args, data_dir)
    sizes = SMALL if args.small else FULL
    print(f"\nSummary ({sizes.candidates:,} candidates, {sizes.applications:,} applications, "
          f"{sizes.interviews:,} interviews, {sizes.page_views:,} page-view counts, "
          f"{sizes.past_editions} past editions; {args.requests} requests after {args.warmup} "
          f"warm-up, one client, sequential):")  # fmt: skip
    print("\n".join(lines))
    print("load average (1, 5, 15 min) at the end: " + ", ".join(
        f"{n:.2f}" for n in os.getloadavg()) + f" on {os.cpu_count()} CPUs")  # fmt: skip


if __name__ == "__main__":
    main()
