"""The CV pool ("candidathèque"): candidates who agreed to be found by recruiters, at a level,
for a period; and the search that finds them, pseudonymously.

Consent (`give`, `renew`, `withdraw`: the one owner of a PoolConsent's state). A candidate opens
their profile at a level (enums.PoolLevel, each including the ones below):

1. EDITION: the recruiters of approved booths of one edition they take part in;
2. TERRITORY: also the recruiters of approved booths of the editions of that edition's territory
   (the same territory name, case and accents aside) and the approved temporary-work agencies
   admitted to one of those editions;
3. NETWORK: also every recruiter of an approved booth and every approved temporary-work agency
   on this platform, and the partner platforms of the network (fair.network calls `search` with
   `Viewer.partner`).

for a period of 1 to 12 months from now (renewed on request: a new period from now), and may
withdraw at any moment. Every change ends the current consent and keeps it as history (level,
dates, withdrawal or replacement, wording version). Reads check the dates (`in_force`): an
expired or withdrawn consent hides the profile at once, whatever the worker does; the worker only
mails reminders 14 and 2 days before the end (`send_reminders`), with a link to renew.

Viewers (`viewer_of`): recruiters of approved booths in editions not archived, members of
approved temporary-work agencies (fair.structures), or a partner platform. Results are
pseudonymous (`PoolProfile`): a reference instead of a name, the jobs wanted, the commune, a CV
excerpt with e-mail addresses, phone numbers, web addresses, street addresses and the
candidate's own name masked. Contact details and the CV file are shown only to the organisation
whose contact request the candidate accepted (fair.contact_requests). Every profile, contact
details or CV opened is written in the access log (fair.access_log) under its consent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from fair import access_log, clock, cv_text, geo, job_search, paging, rome, stop_links
from fair.enums import (
    AccessKind,
    BoothStatus,
    ContactStatus,
    Contract,
    PoolLevel,
    Role,
    StructureKind,
    Transport,
)
from fair.errors import Forbidden, Invalid, NotFound
from fair.models import (
    Booth,
    CandidateProfile,
    ContactRequest,
    CvText,
    Edition,
    EditionCandidate,
    Employer,
    EmployerMember,
    JobSearchContract,
    JobSearchProfile,
    JobSearchTarget,
    PoolConsent,
    StoredFile,
    Structure,
    StructureEdition,
    StructureMember,
    User,
)
from fair.search import RADII, km_from, words
from fair.search import match as search_match

WORDING = "2026-12"  # the version of the consent's wording (templates/candidate/pool.html)
PERIODS = (1, 3, 6, 12)  # months a candidate may choose
MAX_MONTHS = 12
REMINDERS = (14, 2)  # days before the end, in the order they are sent
PER_PAGE = 20
EXCERPT = 300  # characters of CV text in a search result
MASK = "[…]"


def territory_key(territory: str) -> str:
    """The territory's name compared: words folded (case, accents, small words aside)."""
    return " ".join(words(territory))[:200]


def add_months(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months later (the 31st becomes the month's last day)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30]
    days += [31, 31, 30, 31, 30, 31]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def in_force(now: datetime) -> ColumnElement[bool]:
    """The condition "this consent is in force at `now`": current, not withdrawn, started,
    not ended."""
    return and_(
        PoolConsent.active_key == 1,
        PoolConsent.withdrawn_at.is_(None),
        PoolConsent.starts_at <= now,
        PoolConsent.ends_at > now,
    )


def is_in_force(consent: PoolConsent | None, now: datetime) -> bool:
    """`in_force` in Python, for a consent already read."""
    return bool(
        consent is not None
        and consent.active_key == 1
        and consent.withdrawn_at is None
        and consent.starts_at <= now < consent.ends_at
    )


# Consent -------------------------------------------------------------------------------------


def _require_candidate(user: User) -> None:
    if user.role != Role.CANDIDATE:
        raise Forbidden("This page is for candidates.")


async def current(session: AsyncSession, user_id: int) -> PoolConsent | None:
    """The candidate's current consent (in force, or expired but neither withdrawn nor
    replaced), or None."""
    return await session.scalar(
        select(PoolConsent).where(PoolConsent.user_id == user_id, PoolConsent.active_key == 1)
    )


async def history(session: AsyncSession, user_id: int) -> list[PoolConsent]:
    """Every consent the candidate gave, newest first."""
    rows = await session.scalars(
        select(PoolConsent)
        .where(PoolConsent.user_id == user_id)
        .order_by(PoolConsent.created_at.desc(), PoolConsent.id.desc())
    )
    return list(rows)


async def editions_of(session: AsyncSession, user_id: int) -> list[Edition]:
    """The editions (not archived) the candidate takes part in: where level 1 and 2 point."""
    rows = await session.scalars(
        select(Edition)
        .join(EditionCandidate, EditionCandidate.edition_id == Edition.id)
        .where(EditionCandidate.user_id == user_id, Edition.archived_at.is_(None))
        .order_by(Edition.applications_open_at.desc(), Edition.id.desc())
    )
    return list(rows)


async def _check(
    session: AsyncSession, user: User, level: PoolLevel, months: int, edition_id: int | None
) -> Edition | None:
    errors: dict[str, str] = {}
    if not 1 <= months <= MAX_MONTHS:
        errors["months"] = "Choose a period of 12 months at most."
    edition = None
    if edition_id is not None:
        edition = next((e for e in await editions_of(session, user.id) if e.id == edition_id), None)
        if edition is None:
            errors["edition_id"] = "Choose one of the editions you take part in."
    elif level < PoolLevel.NETWORK:
        errors["edition_id"] = "Choose the edition whose recruiters may find you."
    if errors:
        raise Invalid("Some fields need correcting.", code="pool.invalid", fields=errors)
    return edition


async def give(
    session: AsyncSession,
    user: User,
    *,
    level: PoolLevel,
    months: int,
    edition_id: int | None,
) -> PoolConsent:
    """Open the candidate's profile to the pool at `level`, from now for `months` months
    (1 to 12), from `edition_id` (required below NETWORK: an edition they take part in).

    Ends the current consent, if any (kept as history, `replaced_at`), and indexes the profile
    (fair.cv_text.refresh). Refuses with `pool.invalid` (field errors). No mail: the page says it.
    """
    _require_candidate(user)
    edition = await _check(session, user, level, months, edition_id)
    now = clock.now()
    previous = await current(session, user.id)
    if previous is not None:
        previous.active_key = None
        previous.replaced_at = now
        await session.flush()
    consent = PoolConsent(
        user_id=user.id,
        level=int(level),
        edition_id=edition.id if edition else None,
        territory=territory_key(edition.territory) if edition else "",
        starts_at=now,
        ends_at=add_months(now, months),
        wording=WORDING,
        active_key=1,
        created_at=now,
    )
    session.add(consent)
    await session.flush()
    await cv_text.refresh(session, user.id)
    return consent


async def renew(session: AsyncSession, user: User, *, months: int) -> PoolConsent:
    """A new period from now, at the current consent's level and edition (in force or
    expired); `pool.nothing_to_renew` (409) without one."""
    found = await current(session, user.id)
    if found is None:
        raise Invalid(
            "Your profile is not in the CV pool: choose who may find it first.",
            code="pool.nothing_to_renew",
        )
    return await give(
        session, user, level=PoolLevel(found.level), months=months, edition_id=found.edition_id
    )


async def withdraw(session: AsyncSession, user: User) -> PoolConsent | None:
    """Take the profile out of the pool now (the consent kept, `withdrawn_at` set); None when
    it was not in. Open contact requests stay for the candidate to answer, but nothing of the
    profile is shown to anyone while it is out of the pool."""
    _require_candidate(user)
    found = await current(session, user.id)
    if found is None:
        return None
    found.withdrawn_at = clock.now()
    found.active_key = None
    await session.flush()
    return found


# Viewers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who searches the pool, and the audiences they belong to: the editions where they staff
    an approved booth (level 1), the territories of those editions and of the editions their
    agency is admitted to (level 2), the network (level 3: every viewer)."""

    user_id: int | None
    name: str  # as the candidate reads it in the access log: "Person (Organisation)"
    editions: frozenset[int] = frozenset()
    territories: frozenset[str] = frozenset()
    network: bool = False
    employer_ids: tuple[int, ...] = ()
    structure_ids: tuple[int, ...] = ()
    organisation: str = ""

    @classmethod
    def partner(cls, name: str) -> Viewer:
        """A partner platform of the network (fair.network): level 3 profiles only."""
        return cls(user_id=None, name=name, network=True, organisation=name)


async def viewer_of(session: AsyncSession, user: User | None) -> Viewer | None:
    """The pool's viewer `user` is, or None when they may not search it (exactly when
    `may_search` says no: both read `_booths` and `_agencies`)."""
    if user is None or not user.is_active:
        return None
    if user.role == Role.RECRUITER:
        return await _recruiter(session, user)
    if user.role == Role.COUNSELLOR:
        return await _agency(session, user)
    return None


def _agencies(user_id: int) -> Select[int, str]:
    """The approved temporary-work agencies the user is a member of: (id, name)."""
    return (
        select(Structure.id, Structure.name)
        .join(StructureMember, StructureMember.structure_id == Structure.id)
        .where(
            StructureMember.user_id == user_id,
            Structure.kind == StructureKind.TEMPORARY_WORK.value,
            Structure.approved_at.is_not(None),
        )
        .order_by(Structure.id)
    )


def _booths(user_id: int) -> Select[int, str, int, str]:
    """The approved booths of the user's employers in editions not archived: (edition id,
    territory, employer id, employer name)."""
    return (
        select(Booth.edition_id, Edition.territory, Employer.id, Employer.name)
        .join(Edition, Edition.id == Booth.edition_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .join(EmployerMember, EmployerMember.employer_id == Booth.employer_id)
        .where(
            EmployerMember.user_id == user_id,
            Booth.status == BoothStatus.APPROVED.value,
            Edition.archived_at.is_(None),
        )
        .order_by(Employer.id)
    )


async def may_search(session: AsyncSession, user: User | None) -> bool:
    """Whether `user` may search the pool, as `viewer_of` (which the pool's pages require)
    says: a recruiter with an approved booth, a member of an approved temporary-work agency.
    One cheap query, for the menu of every page."""
    if user is None or not user.is_active:
        return False
    if user.role == Role.RECRUITER:
        found = select(_booths(user.id).limit(1).exists())
    elif user.role == Role.COUNSELLOR:
        found = select(_agencies(user.id).limit(1).exists())
    else:
        return False
    return await session.scalar(found) or False


async def _agency(session: AsyncSession, user: User) -> Viewer | None:
    """A member of an approved temporary-work agency: the territories of the editions (not
    archived) it was admitted to, and the network."""
    agency = (await session.execute(_agencies(user.id).limit(1))).first()
    if agency is None:
        return None
    territories = await session.scalars(
        select(Edition.territory)
        .join(StructureEdition, StructureEdition.edition_id == Edition.id)
        .where(StructureEdition.structure_id == agency[0], Edition.archived_at.is_(None))
    )
    return Viewer(
        user_id=user.id,
        name=f"{user.name} ({agency[1]})",
        territories=frozenset(territory_key(t) for t in territories) - {""},
        network=True,
        structure_ids=(int(agency[0]),),
        organisation=str(agency[1]),
    )


async def _recruiter(session: AsyncSession, user: User) -> Viewer | None:
    rows = (await session.execute(_booths(user.id))).all()
    if not rows:
        return None
    employers = dict((int(row[2]), str(row[3])) for row in rows)
    organisation = next(iter(employers.values()))
    return Viewer(
        user_id=user.id,
        name=f"{user.name} ({organisation})",
        editions=frozenset(int(row[0]) for row in rows),
        territories=frozenset(territory_key(row[1]) for row in rows) - {""},
        network=True,
        employer_ids=tuple(employers),
        organisation=organisation,
    )


def visible_to(viewer: Viewer, now: datetime) -> ColumnElement[bool]:
    """The condition "this consent is in force and lets `viewer` see its profile"."""
    reach: list[ColumnElement[bool]] = []
    if viewer.editions:
        reach.append(PoolConsent.edition_id.in_(sorted(viewer.editions)))
    if viewer.territories:
        reach.append(
            and_(
                PoolConsent.level >= int(PoolLevel.TERRITORY),
                PoolConsent.territory.in_(sorted(viewer.territories)),
            )
        )
    if viewer.network:
        reach.append(PoolConsent.level >= int(PoolLevel.NETWORK))
    return and_(in_force(now), or_(*reach) if reach else false())


# Search --------------------------------------------------------------------------------------


@dataclass
class PoolQuery:
    """The filters: words; a commune and a radius; from the candidates' job search
    (fair.job_search): a job wanted (ROME code), a contract accepted (a candidate who named
    none accepts any), available by a day (one who gave no date counts as available), a
    means of transport, and `reachable`: the commune within the distance the candidate said
    they can travel (one who gave none counts as mobile)."""

    q: str = ""
    commune: str = ""
    radius_km: int = 0
    rome: str = ""
    contract: str = ""
    available_by: date | None = None
    transport: str = ""
    reachable: bool = False
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class PoolProfile:
    """A pool profile as a viewer sees it: pseudonymous until contact is accepted."""

    ref: str
    jobs: str
    commune: str
    departement: str
    distance_km: float | None
    excerpt: str
    consent_id: int
    level: PoolLevel
    ends_at: datetime
    user_id: int = field(repr=False, default=0)  # internal: never shown to the viewer
    wanted: job_search.JobSearch | None = None  # targets, contracts, mobility, availability


@dataclass(frozen=True)
class PoolPage(paging.Paged):
    profiles: list[PoolProfile]
    total: int
    page: int
    per_page: int
    origin: geo.Origin | None


def check(query: PoolQuery) -> geo.Origin | None:
    """Validate the filters; the commune distances are measured from."""
    place = geo.place(query.commune, query.radius_km, radii=RADII, needs_origin=query.reachable)
    errors, params, origin = dict(place.errors), dict(place.params), place.origin
    if query.rome and rome.job(query.rome) is None:
        errors["rome"] = "Choose the jobs in the list of job names."
    if query.contract and query.contract not in {c.value for c in Contract}:
        errors["contract"] = "Choose a contract type from the list."
    if query.transport and query.transport not in {t.value for t in Transport}:
        errors["transport"] = "Choose a means of transport from the list."
    if errors:
        raise Invalid(
            "Some search filters need correcting.",
            code="search.invalid",
            fields=errors,
            params=params,
        )
    query.page = paging.clamp(query.page)
    return origin


def _distance(origin: geo.Origin) -> Any:
    """The distance in SQL from `origin` to the profile's commune centre."""
    return km_from(origin.latitude, origin.longitude, CvText)


def _text_match(base: Select[Any], dialect: str, q: str) -> tuple[Select[Any], Any]:
    """`base` narrowed to the profiles whose text matches `q`'s words (prefixes of their
    stems; a short stem of a longer word whole, as the offers' search: fair.search.match.typed),
    and the rank (lower is better; None without words). On SQLite the FTS5 match runs
    once in a CTE of its own, ranked there, then joined (a correlated subquery ran the match
    once per row: 23 s for 3,000 matches among 36,000 profiles)."""
    terms = search_match.typed_terms(q, 12)
    if not terms:
        return (base.where(false()) if q.strip() else base), None
    if dialect == "sqlite":
        match = search_match.fts5([tuple(terms)])
        # The match runs once, ranked in its own query (FTS5 ranks only there), materialised,
        # then joined: matching or ranking per row of cv_texts costs a match each.
        ranked = (
            select(
                literal_column("rowid").label("user_id"),
                literal_column("bm25(cv_texts_fts, 4.0, 1.0)").label("rank"),
            )
            .select_from(table("cv_texts_fts"))
            .where(text("cv_texts_fts MATCH :match").bindparams(match=match))
            .cte("pool_text")
            .prefix_with("MATERIALIZED")
        )
        return base.join(ranked, ranked.c.user_id == CvText.user_id), ranked.c.rank
    tsquery = func.to_tsquery("fair_french", search_match.tsquery([tuple(terms)]))
    vector: Any = literal_column("cv_texts.search_vector")
    return base.where(vector.op("@@")(tsquery)), -func.ts_rank(vector, tsquery)


async def search(session: AsyncSession, *, viewer: Viewer, query: PoolQuery) -> PoolPage:
    """One page of the pool profiles `viewer` may see that match `query`: words in the CV or
    the jobs wanted (French stems, as the offers' search), within `radius_km` of `commune`,
    and the job-search filters (PoolQuery). Best match first (then nearest, then the latest
    consent); distances from `commune`.

    For the network (fair.network): `search(session, viewer=Viewer.partner("Name of the
    partner"), query=...)` returns only profiles opened to the whole network (level 3), as
    pseudonymous `PoolProfile`s (a reference, jobs, commune, masked CV excerpt; no name, no
    contact). It records nothing in the access log: a list of results is not an opened profile
    (`open_profile` records one).

    Two queries and the job searches of the page: the matches ranked in a materialised CTE
    (FTS5 ranks only in the query holding its MATCH) and counted one level up, then the page's
    profiles.
    """
    origin = check(query)
    now = clock.now()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    distance = _distance(origin) if origin else literal_column("NULL")
    base: Any = (
        select(CvText.user_id, PoolConsent.id.label("consent_id"), PoolConsent.starts_at)
        .join(PoolConsent, and_(PoolConsent.user_id == CvText.user_id, PoolConsent.active_key == 1))
        .where(visible_to(viewer, now))
    )
    base, rank = _text_match(base, dialect, query.q)
    base = _wanted(base, query, distance if origin else None)
    if origin and query.radius_km:
        min_lat, max_lat, min_lon, max_lon = geo.bounding_box(
            origin.latitude, origin.longitude, query.radius_km
        )
        base = base.where(
            CvText.latitude.between(min_lat, max_lat),
            CvText.longitude.between(min_lon, max_lon),
            _distance(origin) <= query.radius_km,
        )
    rank_column = (rank if rank is not None else literal_column("0")).label("rank")
    matches = (
        base.add_columns(distance.label("distance"), rank_column)
        .cte("pool_matches")
        .prefix_with("MATERIALIZED")
    )
    order: list[Any] = [matches.c.rank]
    if origin is not None:
        order += [matches.c.distance.is_(None), matches.c.distance]
    order += [matches.c.starts_at.desc(), matches.c.consent_id.desc()]
    page_query = select(
        matches.c.user_id, matches.c.consent_id, matches.c.distance, func.count().over()
    )
    rows = (
        await session.execute(
            page_query.order_by(*order)
            .offset((query.page - 1) * query.per_page)
            .limit(query.per_page)
        )
    ).all()
    total = int(rows[0][3]) if rows else 0
    if not rows and query.page > 1:
        total = int(await session.scalar(select(func.count()).select_from(matches)) or 0)
    profiles = await _profiles(session, [(int(r[0]), int(r[1]), r[2]) for r in rows])
    return PoolPage(profiles, total, query.page, query.per_page, origin)


def _wanted(base: Select[Any], query: PoolQuery, distance: Any) -> Select[Any]:
    """The job-search filters of `query` (PoolQuery says how a blank answer counts)."""
    user = CvText.user_id
    if query.rome:
        target = select(JobSearchTarget.user_id).where(
            JobSearchTarget.user_id == user, JobSearchTarget.rome_code == query.rome
        )
        base = base.where(target.exists())
    if query.contract:
        named = select(JobSearchContract.user_id).where(JobSearchContract.user_id == user)
        chosen = named.where(JobSearchContract.contract == query.contract)
        base = base.where(or_(chosen.exists(), ~named.exists()))
    if query.available_by or query.transport or (query.reachable and distance is not None):
        base = base.outerjoin(JobSearchProfile, JobSearchProfile.user_id == user)
    if query.available_by:
        base = base.where(
            or_(
                JobSearchProfile.available_from.is_(None),
                JobSearchProfile.available_from <= query.available_by,
            )
        )
    if query.transport:
        base = base.where(JobSearchProfile.transport == query.transport)
    if query.reachable and distance is not None:
        base = base.where(
            or_(
                JobSearchProfile.max_distance_km.is_(None),
                JobSearchProfile.max_distance_km >= distance,
            )
        )
    return base


async def _profiles(
    session: AsyncSession, found: list[tuple[int, int, float | None]]
) -> list[PoolProfile]:
    if not found:
        return []
    ids = [user_id for user_id, _c, _d in found]
    rows = await session.execute(
        select(CvText, PoolConsent, CandidateProfile.commune, User.name)
        .join(PoolConsent, and_(PoolConsent.user_id == CvText.user_id, PoolConsent.active_key == 1))
        .join(User, User.id == CvText.user_id)
        .outerjoin(CandidateProfile, CandidateProfile.user_id == CvText.user_id)
        .where(CvText.user_id.in_(ids))
    )
    by_id = {row[0].user_id: row for row in rows.all()}
    wanted = await job_search.of_many(session, ids)
    return [
        _profile(*by_id[user_id], distance=distance, excerpt=EXCERPT, wanted=wanted.get(user_id))
        for user_id, _consent, distance in found
        if user_id in by_id
    ]


def _profile(
    row: CvText,
    consent: PoolConsent,
    commune: str | None,
    name: str,
    *,
    distance: float | None,
    excerpt: int | None,
    wanted: job_search.JobSearch | None = None,
) -> PoolProfile:
    place = geo.by_code(row.commune_code) if row.commune_code else None
    masked = redact(row.content, name)
    if excerpt is not None and len(masked) > excerpt:
        masked = masked[:excerpt].rsplit(" ", 1)[0] + " …"
    return PoolProfile(
        ref=row.ref,
        jobs=redact(row.jobs, name),
        commune=place.name if place else "",
        departement=place.departement if place else "",
        distance_km=round(distance, 1) if distance is not None else None,
        excerpt=masked,
        consent_id=consent.id,
        level=PoolLevel(consent.level),
        ends_at=consent.ends_at,
        user_id=row.user_id,
        wanted=wanted,
    )


# What a pseudonymous text must not show: e-mail addresses, phone numbers (French and
# international), web addresses, street addresses (a number and a kind of way).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+|00)?\d[\d .\-/()]{7,}\d")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b\S+\.(?:fr|com|net|org|eu|io)(?:/\S*)?\b", re.I)
_STREET = re.compile(
    r"\b\d{1,4}\s*(?:bis|ter)?,?\s+(?:rue|avenue|av\.?|boulevard|bd|chemin|impasse|allée|allee"
    r"|place|route|quai|cours|square|résidence|residence|lotissement|lieu-dit)\b[^\n,]*",
    re.I,
)


def redact(content: str, name: str) -> str:
    """`content` with contact details and the candidate's name (each word of 2 letters or
    more, case and accents aside) replaced by MASK."""
    masked = _EMAIL.sub(MASK, content)
    masked = _URL.sub(MASK, masked)
    masked = _STREET.sub(MASK, masked)
    masked = _PHONE.sub(MASK, masked)
    for part in {w for w in re.findall(r"\w+", name) if len(w) >= 2}:
        masked = _name_pattern(part).sub(MASK, masked)
    return masked


def _name_pattern(part: str) -> re.Pattern[str]:
    """A name's word in any case, with or without its accents."""
    letters = []
    for char in part:
        plain = words(char)
        options = {char.lower(), char.upper(), *(plain or [])}
        options |= {o.upper() for o in options}
        letters.append("[" + "".join(re.escape(o) for o in sorted(options)) + "]")
    return re.compile(r"\b" + "".join(letters) + r"\b")


# Opening a profile ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """What an accepted contact request shows: who the candidate is and how to reach them."""

    name: str
    email: str
    phone: str
    has_cv: bool


async def _visible(
    session: AsyncSession, viewer: Viewer, ref: str
) -> tuple[CvText, PoolConsent, str | None, str]:
    """The profile `ref` with its consent, if `viewer` may see it now; NotFound otherwise (the
    same answer whether it does not exist or is hidden)."""
    row = (
        await session.execute(
            select(CvText, PoolConsent, CandidateProfile.commune, User.name)
            .join(PoolConsent, PoolConsent.user_id == CvText.user_id)
            .join(User, User.id == CvText.user_id)
            .outerjoin(CandidateProfile, CandidateProfile.user_id == CvText.user_id)
            .where(CvText.ref == ref, visible_to(viewer, clock.now()))
        )
    ).first()
    if row is None:
        raise NotFound("This profile is not in the CV pool, or no longer.")
    return row[0], row[1], row[2], row[3]


async def contact_accepted(session: AsyncSession, viewer: Viewer, candidate_id: int) -> bool:
    """Whether the candidate accepted a contact request of the viewer's organisation."""
    if not viewer.employer_ids and not viewer.structure_ids:
        return False
    org = []
    if viewer.employer_ids:
        org.append(ContactRequest.employer_id.in_(viewer.employer_ids))
    if viewer.structure_ids:
        org.append(ContactRequest.structure_id.in_(viewer.structure_ids))
    found = await session.scalar(
        select(ContactRequest.id)
        .where(
            ContactRequest.candidate_id == candidate_id,
            ContactRequest.status == ContactStatus.ACCEPTED.value,
            or_(*org),
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class OpenedProfile:
    profile: PoolProfile
    contact: Contact | None  # None until the candidate accepts a contact request


async def open_profile(session: AsyncSession, *, viewer: Viewer, ref: str) -> OpenedProfile:
    """The whole pseudonymous profile (its masked CV text), and the contact details once the
    candidate accepted the viewer's organisation's request. Records the access (and the
    contact details shown) in the access log, under the consent in force."""
    row, consent, commune, name = await _visible(session, viewer, ref)
    wanted = await job_search.of(session, row.user_id)
    profile = _profile(row, consent, commune, name, distance=None, excerpt=None, wanted=wanted)
    await access_log.record(
        session,
        subject_id=row.user_id,
        viewer_id=viewer.user_id,
        viewer=viewer.name,
        what=AccessKind.POOL_PROFILE,
        consent_id=consent.id,
    )
    contact = None
    if await contact_accepted(session, viewer, row.user_id):
        user = await session.get(User, row.user_id)
        details = await session.get(CandidateProfile, row.user_id)
        assert user is not None
        contact = Contact(
            name=user.name,
            email=user.email,
            phone=details.phone if details else "",
            has_cv=bool(details and details.cv_file_id),
        )
        await access_log.record(
            session,
            subject_id=row.user_id,
            viewer_id=viewer.user_id,
            viewer=viewer.name,
            what=AccessKind.CONTACT_DETAILS,
            consent_id=consent.id,
        )
    return OpenedProfile(profile, contact)


async def open_cv(session: AsyncSession, *, viewer: Viewer, ref: str) -> StoredFile:
    """The profile's CV file, for an organisation whose contact request the candidate
    accepted, while the profile is visible to it; recorded in the access log. NotFound
    otherwise (hidden, or no CV), Forbidden before the candidate accepted."""
    row, consent, _commune, _name = await _visible(session, viewer, ref)
    if not await contact_accepted(session, viewer, row.user_id):
        raise Forbidden("The candidate's CV is shown once they accept your contact request.")
    details = await session.get(CandidateProfile, row.user_id)
    stored = (
        await session.get(StoredFile, details.cv_file_id)
        if details and details.cv_file_id
        else None
    )
    if stored is None:
        raise NotFound("This candidate has no CV.")
    await access_log.record(
        session,
        subject_id=row.user_id,
        viewer_id=viewer.user_id,
        viewer=viewer.name,
        what=AccessKind.POOL_CV,
        consent_id=consent.id,
    )
    return stored


async def visible_consent(
    session: AsyncSession, viewer: Viewer, ref: str
) -> tuple[int, PoolConsent]:
    """(candidate id, consent) of a profile `viewer` may see now (fair.contact_requests)."""
    row, consent, _commune, _name = await _visible(session, viewer, ref)
    return row.user_id, consent


REMINDER_BATCH = 200


async def due_reminders(session: AsyncSession, now: datetime) -> list[tuple[PoolConsent, int]]:
    """Consents in force whose next reminder is due: (consent, days before the end)."""
    soonest = now + timedelta(days=max(REMINDERS))
    rows = await session.scalars(
        select(PoolConsent)
        .where(
            in_force(now),
            PoolConsent.ends_at <= soonest,
            # Not yet sent the last one (nor stopped by the candidate: 0).
            or_(PoolConsent.reminded_days.is_(None), PoolConsent.reminded_days > min(REMINDERS)),
        )
        .order_by(PoolConsent.ends_at, PoolConsent.id)
        .limit(REMINDER_BATCH)
    )
    due = []
    for consent in rows:
        left = consent.ends_at - now
        days = min((d for d in REMINDERS if left <= timedelta(days=d)), default=None)
        if days is not None and (consent.reminded_days is None or consent.reminded_days > days):
            due.append((consent, days))
    return due


REMINDERS_STOP = "pool-reminder-stop"  # the purpose of the reminders' stop links


def reminders_stop_token(consent: PoolConsent) -> str:
    """The secret part of the link that stops a consent's reminders (fair.stop_links)."""
    return stop_links.token(REMINDERS_STOP, consent.id)


async def by_reminders_token(session: AsyncSession, raw: str) -> PoolConsent:
    """The consent a reminders' stop link names; NotFound for a link that is not one of ours."""
    consent_id = stop_links.read(REMINDERS_STOP, raw)
    found = None if consent_id is None else await session.get(PoolConsent, consent_id)
    if found is None:
        raise NotFound("This link is not valid.", code="pool.bad_link")
    return found


async def stop_reminders(session: AsyncSession, consent: PoolConsent) -> None:
    """No more reminders before this consent ends (a renewal's consent has its own)."""
    consent.reminded_days = 0
    await session.flush()
