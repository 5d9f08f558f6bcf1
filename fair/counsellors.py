"""Counsellors accompany candidates who agreed to it, and act on their behalf.

An accompaniment is asked (`invite`: an existing candidate's account; `create_person`: an
account the counsellor makes with a person, with an e-mail address or without one), and is in
force once the candidate consented: in person, ticking a box on the counsellor's screen, or
later on their own "My counsellors" page (`consent`). Consent is recorded with its date, the
way it was given and the version of the wording shown (`WORDINGS`: a version's text never
changes; a new text gets a new version). The candidate sees who follows them and ends it
(`end`); so can the counsellor.

Every counsellor's read or action about a candidate starts with `require_followed`: an
accompaniment in force, by this counsellor, for an approved structure they still work for;
otherwise the candidate does not exist for them. What they do for the candidate goes through
the owning functions (`candidates.set_cv`, `interviews.book`, `webconferences.register`,
`applications.apply`) with `acting` where the function tells the candidate, a notice to the
candidate, and a `CounsellorAction` row the candidate reads on their page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import (
    accompaniments,
    accounts,
    applications,
    candidates,
    clock,
    editions,
    endorsements,
    interviews,
    job_search,
    mail,
    notices,
    settings,
    structures,
    webconferences,
)
from fair.enums import ApplicationStatus, BoothStatus, InterviewMode, NoticeKind, Role
from fair.errors import Conflict, Forbidden, Invalid, NotYours
from fair.i18n import N_
from fair.i18n import gettext as _
from fair.models import (
    Accompaniment,
    Application,
    ApplicationEndorsement,
    Booth,
    CounsellorAction,
    Edition,
    Employer,
    Interview,
    Offer,
    Structure,
    StructureMember,
    User,
    Webconference,
)
from fair.on_behalf import Acting

# The consent wordings, by version: the text of a version never changes once shown.
CONSENT_VERSION = "2026-12"
WORDINGS = {
    "2026-12": N_(
        "I agree that %(counsellor)s, counsellor at %(structure)s, accompanies me on fair: "
        "they see my profile, my CV, my applications and my interviews, and they may add or "
        "replace my CV, book interviews, register me to webconferences and put my application "
        "forward on offers for me. I can end this at any moment from my account."
    )
}
VIA_IN_PERSON = "in_person"  # ticked on the counsellor's screen
VIA_CANDIDATE = "candidate"  # accepted on the candidate's own page (first log-in or later)
# What a counsellor did for a candidate (CounsellorAction.action), as the candidate reads it.
ACTIONS = {
    "cv": N_("%(counsellor)s (%(structure)s) added your CV."),
    "profile": N_(
        "%(counsellor)s (%(structure)s) filled in your profile and the job you look for."
    ),
    "interview": N_("%(counsellor)s (%(structure)s) booked an interview for you: %(subject)s."),
    "webconference": N_(
        "%(counsellor)s (%(structure)s) registered you to a webconference: %(subject)s."
    ),
    "put_forward": N_("%(counsellor)s (%(structure)s) put your application forward: %(subject)s."),
    "requested": N_(
        "%(counsellor)s (%(structure)s) offers to accompany you: answer on your counsellors page."
    ),
    "ended": N_("%(counsellor)s (%(structure)s) ended your accompaniment."),
    "consented": N_("%(candidate)s agreed to be accompanied by you."),
    "ended_by_candidate": N_("%(candidate)s ended your accompaniment."),
}


def wording(version: str, *, counsellor: str, structure: str, locale: str | None = None) -> str:
    """The consent text of `version`, as the candidate reads it."""
    return _(WORDINGS[version], locale, counsellor=counsellor, structure=structure)


@dataclass(frozen=True)
class Followed:
    """A candidate a counsellor may see and act for: the accompaniment in force."""

    accompaniment: Accompaniment
    candidate: User
    counsellor: User
    structure: Structure

    @property
    def acting(self) -> Acting:
        return Acting(self.counsellor.id, self.counsellor.name, self.structure.name)


@dataclass(frozen=True)
class Created:
    candidate: User
    accompaniment: Accompaniment
    login: str
    code: str | None  # the printed one-time code, for an account without e-mail


# Structures a counsellor acts for -------------------------------------------------------------


async def structure_of(session: AsyncSession, counsellor: User, structure_id: int) -> Structure:
    """An approved structure the counsellor works for; else it does not exist for them."""
    if counsellor.role != Role.COUNSELLOR:
        raise Forbidden("This page is for counsellors.")
    structure = await session.get(Structure, structure_id)
    member = await session.get(StructureMember, (structure_id, counsellor.id))
    if structure is None or member is None or not structures.is_approved(structure):
        raise NotYours("This structure does not exist.", code="structure.not_found")
    return structure


# Asking and consenting ------------------------------------------------------------------------


async def create_person(
    session: AsyncSession,
    *,
    by: User,
    structure: Structure,
    name: str,
    email: str = "",
    consent: bool = False,
    locale: str = "fr",
) -> Created:
    """A counsellor makes a candidate's account with a person. With an address, the person is
    mailed a link to choose their password; without one, the account gets a login and a
    printed one-time code (returned once, stored hashed). `consent`: the person ticked the box
    on the counsellor's screen (the current wording); otherwise they are asked at first log-in."""
    structure = await structure_of(session, by, structure.id)
    if email.strip():
        candidate = await accounts.create_user(
            session, email=email, name=name, password=None, role=Role.CANDIDATE, locale=locale
        )
        intro = _(
            "%(counsellor)s (%(structure)s) created it with you.",
            candidate.locale,
            counsellor=by.name,
            structure=structure.name,
        )
        await accounts.send_password_link(session, candidate, welcome=True, introduction=intro)
        code = None
    else:
        candidate = await accounts.create_without_mailbox(session, name=name, locale=locale)
        code = await accounts.new_code(session, candidate)
    accompaniment = await _ask(session, by=by, structure=structure, candidate=candidate)
    if consent:
        _consent(accompaniment, VIA_IN_PERSON)
        await session.flush()
    else:
        await _tell_candidate(session, accompaniment, candidate, by, structure, "requested", "")
    return Created(candidate, accompaniment, accounts.login_of(candidate), code)


async def invite(
    session: AsyncSession, *, by: User, structure: Structure, email: str
) -> Accompaniment:
    """Offer to accompany an existing candidate (by their address); they accept or decline on
    their counsellors page, told by a notice and a mail."""
    structure = await structure_of(session, by, structure.id)
    candidate = await accounts.by_email(session, accounts.login_address(email))
    if candidate is None or candidate.role != Role.CANDIDATE or not candidate.is_active:
        message = "No candidate account uses this address or login."
        raise Invalid(message, code="counsellor.unknown_candidate", fields={"email": message})
    accompaniment = await _ask(session, by=by, structure=structure, candidate=candidate)
    await _tell_candidate(session, accompaniment, candidate, by, structure, "requested", "")
    if accounts.has_mailbox(candidate):
        await _mail_request(session, candidate, by, structure)
    return accompaniment


async def _ask(
    session: AsyncSession, *, by: User, structure: Structure, candidate: User
) -> Accompaniment:
    current = await session.scalar(
        select(Accompaniment.id).where(
            Accompaniment.candidate_id == candidate.id,
            Accompaniment.structure_id == structure.id,
            Accompaniment.ended_at.is_(None),
        )
    )
    if current is not None:
        message = "This candidate is already accompanied by your structure, or asked to be."
        raise Conflict(message, code="counsellor.already", fields={"email": message})
    accompaniment = Accompaniment(
        structure_id=structure.id,
        counsellor_id=by.id,
        candidate_id=candidate.id,
        requested_at=clock.now(),
    )
    session.add(accompaniment)
    await session.flush()
    return accompaniment


def _consent(accompaniment: Accompaniment, via: str) -> None:
    accompaniment.consent_at = clock.now()
    accompaniment.consent_version = CONSENT_VERSION
    accompaniment.consent_via = via


async def _mail_request(
    session: AsyncSession, candidate: User, counsellor: User, structure: Structure
) -> None:
    locale = candidate.locale or "fr"
    body = _(
        "Hello %(name)s,\n\n%(counsellor)s (%(structure)s) offers to accompany you on fair. "
        "Accept or decline on your counsellors page: %(link)s\n",
        locale,
        name=candidate.name,
        counsellor=counsellor.name,
        structure=structure.name,
        link=f"{settings.get().base_url}/me/counsellors",
    )
    subject = _("%(structure)s offers to accompany you", locale, structure=structure.name)
    await mail.queue(session, to=candidate.email, subject=subject, body=body)


async def _own(session: AsyncSession, candidate: User, accompaniment_id: int) -> Accompaniment:
    found = await session.get(Accompaniment, accompaniment_id)
    if found is None or found.candidate_id != candidate.id or found.ended_at is not None:
        raise NotYours("This accompaniment does not exist.", code="counsellor.not_found")
    return found


async def consent(
    session: AsyncSession, *, candidate: User, accompaniment_id: int, version: str, agreed: bool
) -> Accompaniment:
    """The candidate accepts a request on their own page, having read the wording `version`
    (the current one: a page shown before a new wording must be read again)."""
    accompaniment = await _own(session, candidate, accompaniment_id)
    if accompaniment.consent_at is not None:
        raise Conflict("You already accepted.", code="counsellor.already_consented")
    if version != CONSENT_VERSION:
        raise Conflict("The text changed: read it again.", code="counsellor.wording_changed")
    if not agreed:
        message = "Tick the box to agree, or decline."
        raise Invalid(message, code="counsellor.no_consent", fields={"agree": message})
    _consent(accompaniment, VIA_CANDIDATE)
    await session.flush()
    await _tell_counsellor(session, accompaniment, candidate, "consented")
    return accompaniment


async def consent_in_person(
    session: AsyncSession, *, followed_request: Accompaniment, by: User, agreed: bool
) -> None:
    """The person ticks the box on the counsellor's screen for a request not yet answered."""
    if followed_request.counsellor_id != by.id or followed_request.ended_at is not None:
        raise NotYours("This accompaniment does not exist.", code="counsellor.not_found")
    await structure_of(session, by, followed_request.structure_id)
    if followed_request.consent_at is not None:
        raise Conflict("The candidate already agreed.", code="counsellor.already_consented")
    if not agreed:
        message = "The person ticks the box to agree."
        raise Invalid(message, code="counsellor.no_consent", fields={"agree": message})
    _consent(followed_request, VIA_IN_PERSON)
    await session.flush()


async def end(session: AsyncSession, *, by: User, accompaniment_id: int) -> None:
    """The candidate ends (or declines) an accompaniment, or its counsellor ends it; the other
    side is told by a notice."""
    accompaniment = await session.get(Accompaniment, accompaniment_id)
    if accompaniment is None or accompaniment.ended_at is not None:
        raise NotYours("This accompaniment does not exist.", code="counsellor.not_found")
    if by.id == accompaniment.candidate_id:
        await _tell_counsellor(session, accompaniment, by, "ended_by_candidate")
    elif by.id == accompaniment.counsellor_id:
        structure = await session.get(Structure, accompaniment.structure_id)
        candidate = await session.get(User, accompaniment.candidate_id)
        assert structure is not None and candidate is not None
        await _tell_candidate(session, accompaniment, candidate, by, structure, "ended", "")
    else:
        raise NotYours("This accompaniment does not exist.", code="counsellor.not_found")
    accompaniment.ended_at = clock.now()
    accompaniment.ended_by_id = by.id
    await session.flush()


async def _tell_candidate(
    session: AsyncSession,
    accompaniment: Accompaniment,
    candidate: User,
    counsellor: User,
    structure: Structure,
    action: str,
    subject: str,
    subject_id: int | None = None,
) -> None:
    params = {
        "action": action,
        "counsellor": counsellor.name,
        "structure": structure.name,
        "subject": subject,
    }
    link = "/me/counsellors"
    await notices.add(
        session, user_id=candidate.id, kind=NoticeKind.COUNSELLOR, params=params, link=link
    )
    if action not in ("requested", "ended"):
        session.add(
            CounsellorAction(
                accompaniment_id=accompaniment.id,
                candidate_id=candidate.id,
                counsellor_id=counsellor.id,
                action=action,
                subject=subject[:200],
                subject_id=subject_id,
                created_at=clock.now(),
            )
        )
        await session.flush()


async def _tell_counsellor(
    session: AsyncSession, accompaniment: Accompaniment, candidate: User, action: str
) -> None:
    if accompaniment.counsellor_id is None:
        return
    await notices.add(
        session,
        user_id=accompaniment.counsellor_id,
        kind=NoticeKind.COUNSELLOR,
        params={"action": action, "candidate": candidate.name},
        link="/counsellor",
    )


# The candidate's side -------------------------------------------------------------------------


@dataclass(frozen=True)
class Follower:
    accompaniment: Accompaniment
    counsellor: str
    structure: str
    kind: str


async def followers(session: AsyncSession, candidate: User) -> list[Follower]:
    """Who accompanies the candidate or asks to (not ended), oldest first."""
    rows = await session.execute(
        select(Accompaniment, User.name, Structure.name, Structure.kind)
        .join(Structure, Structure.id == Accompaniment.structure_id)
        .outerjoin(User, User.id == Accompaniment.counsellor_id)
        .where(Accompaniment.candidate_id == candidate.id, Accompaniment.ended_at.is_(None))
        .order_by(Accompaniment.id)
    )
    return [Follower(a, c or "", s, k) for a, c, s, k in rows.all()]


async def has_request(session: AsyncSession, candidate: User) -> bool:
    """Whether a counsellor's request waits for the candidate's answer."""
    found = await session.scalar(
        select(Accompaniment.id)
        .where(
            Accompaniment.candidate_id == candidate.id,
            Accompaniment.consent_at.is_(None),
            Accompaniment.ended_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def done_for(
    session: AsyncSession, candidate: User, *, limit: int = 50
) -> list[tuple[CounsellorAction, str, str]]:
    """What counsellors did for the candidate, newest first, with the counsellor's and the
    structure's names."""
    rows = await session.execute(
        select(CounsellorAction, User.name, Structure.name)
        .join(Accompaniment, Accompaniment.id == CounsellorAction.accompaniment_id)
        .join(Structure, Structure.id == Accompaniment.structure_id)
        .outerjoin(User, User.id == CounsellorAction.counsellor_id)
        .where(CounsellorAction.candidate_id == candidate.id)
        .order_by(CounsellorAction.id.desc())
        .limit(limit)
    )
    return [(a, c or "", s) for a, c, s in rows.all()]


# The counsellor's side: the one check, then reads and actions ---------------------------------


async def require_followed(session: AsyncSession, counsellor: User, candidate_id: int) -> Followed:
    """The candidate, if `counsellor` accompanies them now: an accompaniment by this counsellor
    that the candidate consented to and nobody ended, for an approved structure the counsellor
    still works for. Otherwise the candidate does not exist for them (NotYours, a 404)."""
    if counsellor.role != Role.COUNSELLOR:
        raise Forbidden("This page is for counsellors.")
    row = (
        await session.execute(
            select(Accompaniment, User, Structure)
            .join(User, User.id == Accompaniment.candidate_id)
            .join(Structure, Structure.id == Accompaniment.structure_id)
            .join(StructureMember, accompaniments.member(counsellor.id))
            .where(
                Accompaniment.candidate_id == candidate_id,
                *accompaniments.in_force(counsellor.id),
                User.is_active.is_(True),
            )
            .order_by(Accompaniment.id)
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotYours("This candidate does not exist.", code="counsellor.not_found")
    return Followed(row[0], row[1], counsellor, row[2])


async def requests_of(
    session: AsyncSession, counsellor: User
) -> list[tuple[Accompaniment, str, str]]:
    """The counsellor's requests the candidate has not answered yet, with the candidate's and
    the structure's names."""
    rows = await session.execute(
        select(Accompaniment, User.name, Structure.name)
        .join(User, User.id == Accompaniment.candidate_id)
        .join(Structure, Structure.id == Accompaniment.structure_id)
        .where(
            Accompaniment.counsellor_id == counsellor.id,
            Accompaniment.consent_at.is_(None),
            Accompaniment.ended_at.is_(None),
        )
        .order_by(Accompaniment.id)
    )
    return [(a, c, s) for a, c, s in rows.all()]


async def request_of(
    session: AsyncSession, counsellor: User, accompaniment_id: int
) -> tuple[Accompaniment, User, Structure]:
    """One of the counsellor's unanswered requests, with its candidate and structure."""
    found = await session.get(Accompaniment, accompaniment_id)
    if (
        found is None
        or found.counsellor_id != counsellor.id
        or found.consent_at is not None
        or found.ended_at is not None
    ):
        raise NotYours("This accompaniment does not exist.", code="counsellor.not_found")
    structure = await structure_of(session, counsellor, found.structure_id)
    candidate = await session.get(User, found.candidate_id)
    assert candidate is not None
    return found, candidate, structure


@dataclass(frozen=True)
class Row:
    """A followed candidate on the counsellor's dashboard."""

    candidate: User
    structure: str
    since: datetime
    applications: int
    put_forward: int
    interviews: int


async def dashboard(session: AsyncSession, counsellor: User) -> list[Row]:
    """The candidates the counsellor accompanies now, with their counts across editions (a
    fixed number of queries)."""
    rows = (
        await session.execute(
            select(Accompaniment, User, Structure.name)
            .join(User, User.id == Accompaniment.candidate_id)
            .join(Structure, Structure.id == Accompaniment.structure_id)
            .join(StructureMember, accompaniments.member(counsellor.id))
            .where(*accompaniments.in_force(counsellor.id), User.is_active.is_(True))
            .order_by(User.name, User.id)
        )
    ).all()
    ids = [user.id for _a, user, _s in rows]
    counts = await _counts(session, ids)
    return [
        Row(user, name, a.consent_at or a.requested_at, *counts.get(user.id, (0, 0, 0)))
        for a, user, name in rows
    ]


@dataclass(frozen=True)
class PutForward:
    """An application the counsellor put forward, for a candidate they still accompany."""

    application: Application
    candidate: str
    offer: str
    employer: str


async def put_forward_by(session: AsyncSession, counsellor: User) -> list[PutForward]:
    """The applications the counsellor put forward, newest status change first, for the
    candidates they accompany now (one query): where their outcome flows back."""
    rows = await session.execute(
        select(Application, User.name, Offer.title, Employer.name)
        .join(ApplicationEndorsement, ApplicationEndorsement.application_id == Application.id)
        .join(User, User.id == Application.candidate_id)
        .join(Offer, Offer.id == Application.offer_id)
        .join(Booth, Booth.id == Application.booth_id)
        .join(Employer, Employer.id == Booth.employer_id)
        .join(Accompaniment, Accompaniment.candidate_id == Application.candidate_id)
        .join(Structure, Structure.id == Accompaniment.structure_id)
        .join(StructureMember, accompaniments.member(counsellor.id))
        .where(
            ApplicationEndorsement.counsellor_id == counsellor.id,
            *accompaniments.in_force(counsellor.id),
        )
        .order_by(Application.status_changed_at.desc(), Application.id.desc())
        .limit(50)
    )
    unique = {a.id: PutForward(a, c, o, e) for a, c, o, e in rows.all()}
    return list(unique.values())


async def _counts(session: AsyncSession, ids: list[int]) -> dict[int, tuple[int, int, int]]:
    if not ids:
        return {}
    applied = dict(
        (
            await session.execute(
                select(Application.candidate_id, func.count())
                .where(Application.candidate_id.in_(ids))
                .group_by(Application.candidate_id)
            )
        ).all()
    )
    forward = dict(
        (
            await session.execute(
                select(Application.candidate_id, func.count())
                .join(
                    ApplicationEndorsement, ApplicationEndorsement.application_id == Application.id
                )
                .where(Application.candidate_id.in_(ids))
                .group_by(Application.candidate_id)
            )
        ).all()
    )
    met = dict(
        (
            await session.execute(
                select(Interview.candidate_id, func.count())
                .where(Interview.candidate_id.in_(ids))
                .group_by(Interview.candidate_id)
            )
        ).all()
    )
    return {i: (applied.get(i, 0), forward.get(i, 0), met.get(i, 0)) for i in ids}


# Acting on the candidate's behalf --------------------------------------------------------------


async def set_cv(session: AsyncSession, followed: Followed, *, filename: str, data: bytes) -> None:
    """Add or replace the candidate's CV (checked by content and size as their own upload is,
    candidates.set_cv); the candidate is told."""
    await candidates.set_cv(session, followed.candidate, filename=filename, data=data)
    await _done(followed, session, "cv", "")


async def update_profile(
    session: AsyncSession,
    followed: Followed,
    *,
    data: candidates.ProfileInput,
    wanted: job_search.Wanted,
) -> None:
    """Fill in the candidate's profile and job search with them (candidates.update and
    job_search.update, with their checks: field errors of both at once); the candidate is
    told."""
    try:
        await candidates.update(session, followed.candidate, data=data)
    except Invalid as error:
        try:
            await job_search.update(session, followed.candidate, wanted=wanted)
        except Invalid as more:
            error.fields = more.fields | error.fields
        raise
    await job_search.update(session, followed.candidate, wanted=wanted)
    await _done(followed, session, "profile", "")


async def _done(
    followed: Followed,
    session: AsyncSession,
    action: str,
    subject: str,
    subject_id: int | None = None,
) -> None:
    await _tell_candidate(
        session,
        followed.accompaniment,
        followed.candidate,
        followed.counsellor,
        followed.structure,
        action,
        subject,
        subject_id,
    )


async def book(
    session: AsyncSession,
    followed: Followed,
    *,
    invitation_id: int,
    slot_id: int,
    mode: InterviewMode,
) -> Interview:
    """Book a slot of an interview invitation the candidate holds (interviews.book, as the
    candidate, with `acting`: the candidate's mail says who booked it)."""
    invitation = await interviews.get_invitation(session, invitation_id)
    if invitation.candidate_id != followed.candidate.id:
        raise NotYours("This invitation does not exist.", code="interview.not_found")
    slot = await interviews.get_slot(session, slot_id)
    interview = await interviews.book(
        session,
        by=followed.candidate,
        invitation=invitation,
        slot=slot,
        mode=mode,
        acting=followed.acting,
    )
    employer = await _employer_of_booth(session, interview.booth_id)
    await _done(followed, session, "interview", employer, interview.id)
    return interview


async def _employer_of_booth(session: AsyncSession, booth_id: int) -> str:
    name = await session.scalar(
        select(Employer.name)
        .join(Booth, Booth.employer_id == Employer.id)
        .where(Booth.id == booth_id)
    )
    return name or ""


async def register_talk(
    session: AsyncSession, followed: Followed, *, webconference_id: int
) -> None:
    """Register the candidate to a webconference (webconferences.register with `acting`)."""
    webconference = await webconferences.get(session, webconference_id)
    await webconferences.register(
        session, candidate=followed.candidate, webconference=webconference, acting=followed.acting
    )
    await _done(followed, session, "webconference", webconference.title, webconference.id)


async def put_forward(
    session: AsyncSession, followed: Followed, *, offer: Offer, note: str
) -> Application:
    """Propose the candidate on an offer with a note for the recruiter: their application is
    made with their CV (applications.apply; an application they already made is the one put
    forward), marked as put forward by the structure (fair.endorsements). The candidate is
    told; the application's later statuses reach the counsellor."""
    note = note.strip()
    if len(note) > endorsements.MAX_NOTE:
        message = "Your note is too long (2,000 characters at most)."
        raise Invalid(message, code="counsellor.note_too_long", fields={"note": message})
    application = await applications.of_offer_for(session, followed.candidate, offer.id)
    if application is None or applications.withdrawn(application):
        application = await applications.apply(
            session, candidate=followed.candidate, offer=offer, message=""
        )
    elif await session.get(ApplicationEndorsement, application.id) is not None:
        raise Conflict(
            "This application was already put forward.", code="counsellor.already_put_forward"
        )
    await endorsements.record(
        session,
        application=application,
        structure=followed.structure,
        counsellor=followed.counsellor,
        note=note,
    )
    await _done(followed, session, "put_forward", offer.title, application.id)
    return application


async def new_code(session: AsyncSession, followed: Followed) -> str:
    """A new printed code for an account without e-mail (its owner forgot their password):
    the only way back in for them; an account with an address resets its password itself."""
    if accounts.has_mailbox(followed.candidate):
        raise Conflict(
            "This candidate has an e-mail address: they reset their password themselves.",
            code="counsellor.has_mailbox",
        )
    return await accounts.new_code(session, followed.candidate)


# What the counsellor reads about a followed candidate -----------------------------------------


@dataclass(frozen=True)
class Overview:
    applications: list[tuple[Application, str, endorsements.Shown | None]]
    interviews: list[tuple[Interview, str]]
    invitations: list[tuple[int, str, list[tuple[int, datetime, list[InterviewMode]]]]]
    has_cv: bool


async def overview(session: AsyncSession, followed: Followed) -> Overview:
    """The candidate's applications (with who put them forward) and interviews across
    editions, and the interview invitations they may book, with free slots."""
    candidate = followed.candidate
    applied = await applications.of_candidate(session, candidate)
    shown = await endorsements.of_applications(session, [a.id for a, _n in applied])
    met = await interviews.of_candidate(session, candidate)
    names = await _employers_of_booths(session, {i.booth_id for i in met})
    invited = []
    for invitation in await interviews.invitations_of(session, candidate):
        slots = await interviews.free_slots(session, invitation.booth_id, limit=10)
        employer = await _employer_of_booth(session, invitation.booth_id)
        free = [(s.id, s.starts_at, interviews.slot_modes(s)) for s in slots]
        invited.append((invitation.id, employer, free))
    profile = await candidates.profile(session, candidate)
    return Overview(
        applications=[(a, name, shown.get(a.id)) for a, name in applied],
        interviews=[(i, names.get(i.booth_id, "")) for i in met],
        invitations=invited,
        has_cv=profile.cv_file_id is not None,
    )


async def _employers_of_booths(session: AsyncSession, booth_ids: set[int]) -> dict[int, str]:
    if not booth_ids:
        return {}
    rows = await session.execute(
        select(Booth.id, Employer.name)
        .join(Employer, Employer.id == Booth.employer_id)
        .where(Booth.id.in_(booth_ids))
    )
    return dict(rows.all())


async def upcoming_talks(
    session: AsyncSession, *, limit: int = 30
) -> list[tuple[Webconference, str]]:
    """Webconferences still to come in published editions (the edition's own, or an approved
    booth's), soonest first, with their edition's title."""
    now = clock.now()
    rows = await session.execute(
        select(Webconference, Edition.title)
        .join(Edition, Edition.id == Webconference.edition_id)
        .outerjoin(Booth, Booth.id == Webconference.booth_id)
        .where(
            Edition.published_at.is_not(None),
            Edition.archived_at.is_(None),
            Webconference.starts_at > now,
            Webconference.status.not_in(webconferences.OVER),
            (Webconference.booth_id.is_(None)) | (Booth.status == BoothStatus.APPROVED),
        )
        .order_by(Webconference.starts_at, Webconference.id)
        .limit(limit)
    )
    return [(w, t) for w, t in rows.all()]


async def open_editions(session: AsyncSession) -> list[Edition]:
    """The published editions whose applications are open: where a candidate may be put
    forward."""
    return [e for e in await editions.published(session) if editions.applications_open(e)]


def status_label(application: Application) -> str:
    return ApplicationStatus(application.status).label
