"""Statuses and closed vocabularies, with their allowed transitions.

Each member's `label` is an English msgid, translated at the boundary.
"""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum, StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ORGANISER = "organiser"
    RECRUITER = "recruiter"
    CANDIDATE = "candidate"
    # An adviser of a Structure (fair.structures) who accompanies candidates who agreed to it.
    COUNSELLOR = "counsellor"

    @property
    def label(self) -> str:
        return {
            "admin": "Administrator",
            "organiser": "Organiser",
            "recruiter": "Recruiter",
            "candidate": "Candidate",
            "counsellor": "Counsellor",
        }[self.value]


class StructureKind(StrEnum):
    """The kinds of structure a counsellor works for (fair.structures). Approved temporary-work
    agencies are the agencies that may search the consented CV pool."""

    FRANCE_TRAVAIL = "france_travail"
    MISSION_LOCALE = "mission_locale"
    MISSION_EMPLOI = "mission_emploi"
    PLIE = "plie"
    CAP_EMPLOI = "cap_emploi"
    TEMPORARY_WORK = "temporary_work"

    @property
    def label(self) -> str:
        return {
            "france_travail": "France Travail agency",
            "mission_locale": "Mission locale",
            "mission_emploi": "Mission Emploi",
            "plie": "PLIE (local plan for inclusion and employment)",
            "cap_emploi": "Cap emploi",
            "temporary_work": "Temporary-work agency",
        }[self.value]


class EditionStatus(StrEnum):
    """Derived from the clock (see editions.status_at); never stored."""

    DRAFT = "draft"
    PUBLISHED = "published"
    APPLICATIONS_OPEN = "applications_open"
    LIVE = "live"
    CLOSED = "closed"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return {
            "draft": "Draft",
            "published": "Published",
            "applications_open": "Applications open",
            "live": "Live",
            "closed": "Closed",
            "archived": "Archived",
        }[self.value]


class BoothStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {"requested": "Awaiting approval", "approved": "Approved", "declined": "Declined"}[
            self.value
        ]


BOOTH_TRANSITIONS: dict[BoothStatus, frozenset[BoothStatus]] = {
    BoothStatus.REQUESTED: frozenset({BoothStatus.APPROVED, BoothStatus.DECLINED}),
    BoothStatus.DECLINED: frozenset({BoothStatus.REQUESTED, BoothStatus.APPROVED}),
    BoothStatus.APPROVED: frozenset({BoothStatus.DECLINED}),
}


class Contract(StrEnum):
    CDI = "cdi"
    CDD = "cdd"
    TEMPORARY = "temporary"
    SEASONAL = "seasonal"
    APPRENTICESHIP = "apprenticeship"
    INTERNSHIP = "internship"

    @property
    def label(self) -> str:
        return {
            "cdi": "Permanent contract (CDI)",
            "cdd": "Fixed-term contract (CDD)",
            "temporary": "Temporary work",
            "seasonal": "Seasonal work",
            "apprenticeship": "Apprenticeship",
            "internship": "Internship",
        }[self.value]


class WorkingTime(StrEnum):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"

    @property
    def label(self) -> str:
        return {"full_time": "Full time", "part_time": "Part time"}[self.value]


class Transport(StrEnum):
    """How a candidate can travel to work (fair.job_search), with the speed the matching
    assumes for it (fair.matching) when it weighs a distance."""

    CAR = "car"
    PUBLIC_TRANSPORT = "public_transport"
    BIKE = "bike"
    ON_FOOT = "on_foot"
    NONE = "none"

    @property
    def label(self) -> str:
        return {
            "car": "By car",
            "public_transport": "By public transport",
            "bike": "By bike",
            "on_foot": "On foot",
            "none": "No means of transport",
        }[self.value]


class Experience(StrEnum):
    """France Travail's experienceExige: D (beginners welcome), S (wished), E (required)."""

    BEGINNER = "beginner"
    WISHED = "wished"
    REQUIRED = "required"

    @property
    def label(self) -> str:
        return {
            "beginner": "Beginners welcome",
            "wished": "Experience wished",
            "required": "Experience required",
        }[self.value]


class CompanySize(StrEnum):
    MICRO = "0-9"
    SMALL = "10-49"
    MEDIUM = "50-249"
    LARGE = "250-4999"
    HUGE = "5000+"

    @property
    def label(self) -> str:
        return {
            "0-9": "Fewer than 10 employees",
            "10-49": "10 to 49 employees",
            "50-249": "50 to 249 employees",
            "250-4999": "250 to 4,999 employees",
            "5000+": "5,000 employees or more",
        }[self.value]


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    SHORTLISTED = "shortlisted"
    INTERVIEW_PROPOSED = "interview_proposed"
    INTERVIEW_SCHEDULED = "interview_scheduled"
    INTERVIEWED = "interviewed"
    NO_SHOW = "no_show"
    HIRED = "hired"
    NOT_RETAINED = "not_retained"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "submitted": "Submitted",
            "in_review": "In review",
            "shortlisted": "Shortlisted",
            "interview_proposed": "Interview proposed",
            "interview_scheduled": "Interview scheduled",
            "interviewed": "Interviewed",
            "no_show": "Did not attend",
            "hired": "Hired",
            "not_retained": "Not retained",
            "withdrawn": "Withdrawn",
        }[self.value]

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def answered(self) -> bool:
        """Whether the employer has given the candidate an answer (the "no black hole" rule)."""
        return self not in UNANSWERED_STATUSES

    @property
    def progress(self) -> int:
        """How far along the pipeline: a move to a status of lower progress goes backwards."""
        order = [
            ("submitted",),
            ("in_review",),
            ("shortlisted",),
            ("interview_proposed",),
            ("interview_scheduled",),
            ("interviewed", "no_show"),
            ("hired", "not_retained", "withdrawn"),
        ]
        return next(rank for rank, values in enumerate(order) if self.value in values)


S = ApplicationStatus
FINAL_STATUSES = frozenset({S.HIRED, S.NOT_RETAINED, S.WITHDRAWN})
UNANSWERED_STATUSES = frozenset({S.SUBMITTED, S.IN_REVIEW})
APPLICATION_TRANSITIONS: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.SHORTLISTED, S.NOT_RETAINED, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.SHORTLISTED, S.NOT_RETAINED, S.WITHDRAWN}),
    S.SHORTLISTED: frozenset({S.INTERVIEW_PROPOSED, S.NOT_RETAINED, S.WITHDRAWN}),
    S.INTERVIEW_PROPOSED: frozenset({S.INTERVIEW_SCHEDULED, S.NOT_RETAINED, S.WITHDRAWN}),
    # Back to "proposed" when the interview is cancelled and can be booked again.
    S.INTERVIEW_SCHEDULED: frozenset(
        {S.INTERVIEW_PROPOSED, S.INTERVIEWED, S.NO_SHOW, S.NOT_RETAINED, S.WITHDRAWN}
    ),
    # A second interview goes back to "interview proposed".
    S.INTERVIEWED: frozenset({S.HIRED, S.NOT_RETAINED, S.WITHDRAWN, S.INTERVIEW_PROPOSED}),
    S.NO_SHOW: frozenset({S.INTERVIEW_PROPOSED, S.NOT_RETAINED, S.WITHDRAWN}),
    S.HIRED: frozenset(),
    S.NOT_RETAINED: frozenset(),
    # The candidate applies again while the application window is open (applications.apply).
    S.WITHDRAWN: frozenset({S.SUBMITTED}),
}
# The candidate's own moves: withdrawing, and applying again after a withdrawal.
CANDIDATE_MOVES = frozenset({S.WITHDRAWN, S.SUBMITTED})
# What a recruiter may choose in the pipeline (withdrawal belongs to the candidate).
RECRUITER_MOVES = frozenset(set(S) - {S.SUBMITTED, S.WITHDRAWN})


class FileKind(StrEnum):
    CV = "cv"
    LOGO = "logo"
    BANNER = "banner"  # an edition's banner image (fair.branding)
    PHOTO = "photo"  # a recruiter's photo, shown on the booth pages they staff


class NoticeKind(StrEnum):
    APPLICATION_STATUS = "application_status"
    BOOTH_DECISION = "booth_decision"
    QUEUE_SKIPPED = "queue_skipped"
    INTERVIEW = "interview"  # params: interview_id, change (an InterviewChange value)
    # fair.counsellors: to the candidate, what their counsellor did for them (params: action,
    # counsellor, structure, subject) or asked (action "requested"); to the counsellor, an
    # accompaniment accepted or ended (action, candidate).
    COUNSELLOR = "counsellor"
    # fair.endorsements: to the counsellor, the new status of an application they put forward
    # (params: candidate, offer, employer, status).
    PUT_FORWARD_STATUS = "put_forward_status"


class QueueStatus(StrEnum):
    """A place in a booth's drop-in queue (see fair.queues)."""

    WAITING = "waiting"
    CALLED = "called"
    IN_CONVERSATION = "in_conversation"
    DONE = "done"
    SKIPPED = "skipped"
    LEFT = "left"

    @property
    def label(self) -> str:
        return {
            "waiting": "Waiting",
            "called": "Called",
            "in_conversation": "In conversation",
            "done": "Done",
            "skipped": "Skipped",
            "left": "Left the queue",
        }[self.value]

    @property
    def active(self) -> bool:
        """Holds the candidate's place in this booth's queue."""
        return self in (QueueStatus.WAITING, QueueStatus.CALLED, QueueStatus.IN_CONVERSATION)

    @property
    def engaged(self) -> bool:
        """Holds the candidate themselves: they are held in every other queue."""
        return self in (QueueStatus.CALLED, QueueStatus.IN_CONVERSATION)


Q = QueueStatus
QUEUE_TRANSITIONS: dict[QueueStatus, frozenset[QueueStatus]] = {
    Q.WAITING: frozenset({Q.CALLED, Q.LEFT}),
    Q.CALLED: frozenset({Q.IN_CONVERSATION, Q.SKIPPED, Q.LEFT}),
    Q.IN_CONVERSATION: frozenset({Q.DONE}),
    Q.DONE: frozenset(),
    Q.SKIPPED: frozenset(),
    Q.LEFT: frozenset(),
}


class NextStep(StrEnum):
    """What a recruiter decides at the end of a queue conversation (the neutral one first)."""

    NONE = "none"
    KEEP_IN_TOUCH = "keep_in_touch"
    INTERVIEW_PROPOSED = "interview_proposed"
    NOT_RETAINED = "not_retained"

    @property
    def label(self) -> str:
        return {
            "interview_proposed": "Propose an interview",
            "not_retained": "Not retained",
            "keep_in_touch": "Keep in touch",
            "none": "No next step",
        }[self.value]


class ReportKind(StrEnum):
    """Which chat a reported message belongs to (see fair.moderation)."""

    QA = "qa"
    CONVERSATION = "conversation"


class ReportResolution(StrEnum):
    """How a moderator settled a report (see fair.moderation)."""

    DISMISSED = "dismissed"
    REMOVED = "removed"


class MuteLength(StrEnum):
    """How long a moderator mutes someone in an edition's chats."""

    MINUTES_15 = "15m"
    HOUR = "1h"
    DAY = "24h"
    UNTIL_UNMUTED = "until_unmuted"

    @property
    def label(self) -> str:
        return {
            "15m": "15 minutes",
            "1h": "1 hour",
            "24h": "24 hours",
            "until_unmuted": "Until unmuted",
        }[self.value]

    @property
    def duration(self) -> timedelta | None:
        """None: until a moderator unmutes."""
        return {
            "15m": timedelta(minutes=15),
            "1h": timedelta(hours=1),
            "24h": timedelta(hours=24),
            "until_unmuted": None,
        }[self.value]


class InterviewMode(StrEnum):
    """How an interview is held; video is never forced (fair.interviews)."""

    VIDEO = "video"
    PHONE = "phone"
    CHAT = "chat"

    @property
    def label(self) -> str:
        return {"video": "Video", "phone": "Phone", "chat": "Written chat"}[self.value]


class InterviewStatus(StrEnum):
    """A booking's life (fair.interviews): `active` ones hold their slot."""

    OFFERED = "offered"  # a freed slot offered to the first of the waiting list, for a while
    PENDING = "pending"  # booked by the recruiter, to be confirmed by the candidate
    BOOKED = "booked"
    CANCELLED = "cancelled"
    DECLINED = "declined"  # an offer or a pending booking the candidate turned down or let expire
    HELD = "held"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return {
            "offered": "Slot offered",
            "pending": "To confirm",
            "booked": "Booked",
            "cancelled": "Cancelled",
            "declined": "Declined",
            "held": "Held",
            "no_show": "Did not attend",
        }[self.value]

    @property
    def active(self) -> bool:
        return self in (InterviewStatus.OFFERED, InterviewStatus.PENDING, InterviewStatus.BOOKED)


class InvitationStatus(StrEnum):
    OPEN = "open"  # the candidate may book (or waits on the waiting list)
    CLOSED = "closed"  # held, or withdrawn with the application


class InterviewOutcome(StrEnum):
    """What a recruiter records after a held interview; it reaches the application."""

    SECOND_INTERVIEW = "second_interview"
    HIRED = "hired"
    NOT_RETAINED = "not_retained"
    UNDECIDED = "undecided"

    @property
    def label(self) -> str:
        return {
            "second_interview": "Second interview",
            "hired": "Hired",
            "not_retained": "Not retained",
            "undecided": "Decision later",
        }[self.value]


class InterviewChange(StrEnum):
    """Why participants hear about an interview (mails, notices, live events)."""

    BOOKED = "booked"
    TO_CONFIRM = "to_confirm"
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    OFFERED = "offered"
    REMINDER_DAY = "reminder_day"
    REMINDER_HOUR = "reminder_hour"


class WebconferenceStatus(StrEnum):
    """A webconference's life (fair.webconferences); "live now" also depends on the clock."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "scheduled": "Scheduled",
            "live": "Live",
            "ended": "Ended",
            "cancelled": "Cancelled",
        }[self.value]


W = WebconferenceStatus
WEBCONFERENCE_TRANSITIONS: dict[WebconferenceStatus, frozenset[WebconferenceStatus]] = {
    W.SCHEDULED: frozenset({W.LIVE, W.CANCELLED}),
    W.LIVE: frozenset({W.ENDED}),
    W.ENDED: frozenset(),
    W.CANCELLED: frozenset(),
}


class WebconferenceAccess(StrEnum):
    """Who may watch: anyone (registering only books a seat and the reminders), or only the
    candidates registered (within the capacity)."""

    OPEN = "open"
    REGISTERED = "registered"

    @property
    def label(self) -> str:
        return {
            "open": "Open to all",
            "registered": "Registered candidates only",
        }[self.value]


class RegistrationStatus(StrEnum):
    """A candidate's registration to a webconference: a seat, or a place on the waiting list."""

    REGISTERED = "registered"
    WAITING = "waiting"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "registered": "Registered",
            "waiting": "Waiting list",
            "cancelled": "Cancelled",
        }[self.value]


class WebconferenceChange(StrEnum):
    """Why a registered (or waiting) candidate hears about a webconference."""

    REGISTERED = "registered"
    WAITING = "waiting"
    PROMOTED = "promoted"
    UNREGISTERED = "unregistered"
    CHANGED = "changed"
    CANCELLED = "cancelled"
    REMINDER = "reminder"


class QuestionStatus(StrEnum):
    """A webconference question: open, then answered or hidden by a moderator (who may also
    reopen it)."""

    OPEN = "open"
    ANSWERED = "answered"
    HIDDEN = "hidden"

    @property
    def label(self) -> str:
        return {"open": "Open", "answered": "Answered", "hidden": "Hidden"}[self.value]


class RecordingStatus(StrEnum):
    """A webconference recording: consented (waiting for the stage), recording, ready (a replay),
    failed, or withdrawn (consent taken back; the file is deleted)."""

    CONSENTED = "consented"
    RECORDING = "recording"
    READY = "ready"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "consented": "Will be recorded",
            "recording": "Recording",
            "ready": "Replay available",
            "failed": "Recording failed",
            "withdrawn": "Recording withdrawn",
        }[self.value]


class Qualification(StrEnum):
    """A candidate's highest diploma, on the French scale of qualification levels (3 to 8)."""

    NONE = "none"
    CAP_BEP = "3"
    BAC = "4"
    BAC_2 = "5"
    BAC_3 = "6"
    BAC_5 = "7"
    DOCTORATE = "8"

    @property
    def label(self) -> str:
        return {
            "none": "No diploma",
            "3": "CAP, BEP (level 3)",
            "4": "Baccalauréat (level 4)",
            "5": "Bac+2: BTS, BUT, DEUST (level 5)",
            "6": "Bac+3 or +4: licence (level 6)",
            "7": "Bac+5: master, engineering degree (level 7)",
            "8": "Doctorate (level 8)",
        }[self.value]

    @property
    def low(self) -> bool:
        """No diploma or at most a CAP-BEP: the public-employment partners' 'low qualified'."""
        return self in (Qualification.NONE, Qualification.CAP_BEP)


class ApiScope(StrEnum):
    """What a partner's API key may do (fair.api_keys). The booth scopes name the booth."""

    PUBLIC = "public:read"
    FIGURES = "figures:read"
    OFFERS = "offers:write"
    APPLICATIONS = "applications:read"
    # A partner instance of the network of territories (fair.network): pull the edition's
    # offers; send its candidates' applications (signed) and pull their status.
    NETWORK_OFFERS = "network:offers"
    NETWORK_APPLY = "network:apply"
    NETWORK_POOL = "network:pool"  # search the CV pool's profiles opened to the network

    @property
    def label(self) -> str:
        return {
            "public:read": "Read public data",
            "figures:read": "Read the edition's aggregated figures",
            "offers:write": "Write the booth's offers",
            "applications:read": "Read the booth's applications (ATS)",
            "network:offers": "Network: read the edition's open offers",
            "network:apply": "Network: send applications and read their status",
            "network:pool": "Network: search the CV pool's profiles opened to the network",
        }[self.value]

    @property
    def for_booth(self) -> bool:
        """Whether the key must name a booth for this scope."""
        return self in (ApiScope.OFFERS, ApiScope.APPLICATIONS)

    @property
    def for_network(self) -> bool:
        """Whether only a network partner's key has this scope (fair.network issues it)."""
        return self.value.startswith("network:")

    @property
    def personal(self) -> bool:
        """Whether a use of this scope reads personal data (then it is audited)."""
        return self is ApiScope.APPLICATIONS


class PoolLevel(IntEnum):
    """Who may find a candidate's profile in the CV pool (fair.cv_pool). Each level includes the
    ones below it."""

    EDITION = 1  # the recruiters of approved booths of one edition the candidate takes part in
    TERRITORY = 2  # and the recruiters and approved temporary-work agencies of its territory
    NETWORK = 3  # and every recruiter and agency of the network of territories

    @property
    def label(self) -> str:
        return {
            1: "The recruiters of one edition",
            2: "The partners of the territory",
            3: "The whole network of territories",
        }[self.value]


class ContactStatus(StrEnum):
    """A recruiter's or agency's request to contact a pool candidate (fair.contact_requests)."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return {
            "requested": "Awaiting your answer",
            "accepted": "Accepted",
            "declined": "Declined",
        }[self.value]


CONTACT_TRANSITIONS: dict[ContactStatus, frozenset[ContactStatus]] = {
    ContactStatus.REQUESTED: frozenset({ContactStatus.ACCEPTED, ContactStatus.DECLINED}),
    ContactStatus.ACCEPTED: frozenset(),
    ContactStatus.DECLINED: frozenset(),
}


class AccessKind(StrEnum):
    """What someone opened of a candidate's personal data (fair.access_log)."""

    POOL_PROFILE = "pool_profile"
    POOL_CV = "pool_cv"
    CONTACT_DETAILS = "contact_details"
    APPLICATION_CV = "application_cv"

    @property
    def label(self) -> str:
        return {
            "pool_profile": "Your profile in the CV pool",
            "pool_cv": "Your CV, from the CV pool",
            "contact_details": "Your contact details",
            "application_cv": "The CV of your application",
        }[self.value]
