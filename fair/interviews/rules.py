"""Who may do what with interviews: the family's permission rules, in one place.

- A booth's interviews (its slots, agenda, invitations, bookings for a candidate, outcomes) are
  managed by the members of the booth's employer (`require_booth_staff`, `booth_of_staff`, after
  fair.permissions' rule for a booth).
- The booth's staff propose an interview about an application the transitions allow to move to
  "interview proposed", when none is open (`may_invite`, what `booking.invite` checks).
- An invitation is its candidate's (`require_own_invitation`); a slot is booked for it by that
  candidate or by the booth's staff (`require_booker`).
- An interview is seen, moved and cancelled by its candidate and by the members of its booth's
  employer (`require_participant`); only its candidate confirms or declines it
  (`require_candidate`). What its page offers each of them: `may_answer`, `may_move`,
  `may_cancel`, `holds_room`.
- Its room is entered by its two people only: the candidate and the recruiter who holds the
  slot (`Interview.recruiter_id`), not their colleagues (`room_role`). Inside, only that
  recruiter lets the candidate in and sees the candidate's number; only the candidate gives it.

Someone else's invitation, interview or room is answered as one that does not exist
(NotYours); a booth of another employer is Forbidden. The domain functions call these rules;
pages and socket commands call the domain functions (and may ask a rule first, to choose what
to show).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from fair import employers, permissions
from fair.enums import APPLICATION_TRANSITIONS, ApplicationStatus, InterviewStatus, Role
from fair.errors import Forbidden, NotYours
from fair.models import Application, Booth, Interview, InterviewInvitation, User

# The two sides of an interview room.
CANDIDATE = "candidate"
RECRUITER = "recruiter"
# Interviews' statuses by what their participants may still do with them.
PLANNED = (InterviewStatus.BOOKED, InterviewStatus.PENDING)  # either side moves or cancels it
ANSWERABLE = (InterviewStatus.PENDING, InterviewStatus.OFFERED)  # the candidate answers it


# Booths ------------------------------------------------------------------------------------------


async def require_booth_staff(session: AsyncSession, user: User, booth: Booth) -> None:
    """A member of the booth's employer manages its interviews; anyone else is Forbidden."""
    await permissions.require_booth_member(session, user, booth)


async def booth_of_staff(session: AsyncSession, user: User, booth_id: int) -> Booth:
    """The booth (with its employer and edition), if `user` manages its interviews."""
    booth = await employers.get_booth(session, booth_id)
    await require_booth_staff(session, user, booth)
    return booth


# Invitations and interviews ---------------------------------------------------------------------


def may_invite(application: Application, invitation: InterviewInvitation | None) -> bool:
    """Whether the page offers to propose an interview: none open (`invitation`), and the
    application may move to "interview proposed" (shortlisted, or interviewed)."""
    return invitation is None and invitable(application)


def invitable(application: Application) -> bool:
    """Whether the application's transitions allow "interview proposed" next."""
    current = ApplicationStatus(application.status)
    return ApplicationStatus.INTERVIEW_PROPOSED in APPLICATION_TRANSITIONS[current]


def require_own_invitation(candidate: User, invitation: InterviewInvitation) -> None:
    if invitation.candidate_id != candidate.id:
        raise NotYours("This invitation does not exist.", code="interview.not_found")


async def require_booker(
    session: AsyncSession, user: User, invitation: InterviewInvitation
) -> bool:
    """Whether `user` books as the invitation's candidate (True) or as its booth's staff (False);
    anyone else is Forbidden."""
    if user.id == invitation.candidate_id:
        return True
    await booth_of_staff(session, user, invitation.booth_id)
    return False


async def require_participant(session: AsyncSession, user: User, interview: Interview) -> bool:
    """Whether `user` is the interview's candidate (True) or a recruiter of its booth's employer
    (False); to anyone else it does not exist."""
    if user.id == interview.candidate_id:
        return True
    if user.role == Role.RECRUITER:
        booth = await employers.get_booth(session, interview.booth_id)
        if await permissions.is_member(session, user, booth.employer_id):
            return False
    raise NotYours("This interview does not exist.", code="interview.not_found")


def require_candidate(user: User, interview: Interview) -> None:
    """Only the interview's candidate answers a booking made for them or a slot offered."""
    if interview.candidate_id != user.id:
        raise NotYours("This interview does not exist.", code="interview.not_found")


def may_answer(interview: Interview, *, is_candidate: bool) -> bool:
    """Whether a participant may confirm or decline the interview (its candidate, while a
    booking made for them or a slot offered waits for their answer)."""
    return is_candidate and InterviewStatus(interview.status) in ANSWERABLE


def may_move(interview: Interview, *, changeable: bool) -> bool:
    """Whether a participant may move the interview: planned, before the edition's cut-off."""
    return InterviewStatus(interview.status) in PLANNED and changeable


def may_cancel(interview: Interview, *, is_candidate: bool, changeable: bool) -> bool:
    """Whether a participant may cancel it before the cut-off: a planned one, either side; a
    slot offered from the waiting list, only a recruiter (the candidate declines it)."""
    state = InterviewStatus(interview.status)
    return changeable and (state in PLANNED or (state.active and not is_candidate))


def holds_room(interview: Interview, user: User) -> bool:
    """Whether `user` is one of the room's two people (`room_role`, without refusing)."""
    return user.id in (interview.candidate_id, interview.recruiter_id)


# Rooms -------------------------------------------------------------------------------------------


def room_role(interview: Interview, user: User) -> str:
    """The user's side in the room; for anyone else (a colleague included) the room does not
    exist (NotYours)."""
    if user.id == interview.candidate_id:
        return CANDIDATE
    if user.id == interview.recruiter_id:
        return RECRUITER
    raise NotYours("This interview room does not exist.", code="room.not_found")


def require_may_admit(interview: Interview, user: User) -> None:
    if user.id != interview.recruiter_id:
        raise Forbidden("Only the recruiter can let the candidate in.", code="room.forbidden")


def require_may_see_phone(interview: Interview, user: User) -> None:
    if user.id != interview.recruiter_id:
        raise Forbidden(
            "Only the recruiter sees the candidate's phone number.", code="room.forbidden"
        )


def require_may_give_phone(interview: Interview, user: User) -> None:
    if user.id != interview.candidate_id:
        raise Forbidden("Only the candidate can give their number.", code="room.forbidden")
