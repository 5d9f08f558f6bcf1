"""Where each person's data lives: every table holding personal data is declared here, with the
rows that are about a person, what their download of their data includes (fair.data_export)
and what deleting their account does to those rows (fair.erasure).

A table is declared when it has a foreign key to `users` or a column that may hold personal
data (`PERSONAL_COLUMN`: addresses, phone numbers, free text…); tests/test_personal_data.py
walks the models' metadata and fails on one that is not, so a new table cannot be forgotten.

Rows about a person are found by `subjects` (columns holding their user id), `via` (a column
pointing to a row of another table that is about them: a conversation's messages) or `email`
(a column holding their address). Other user columns are `actors` (who decided, created,
moderated): kept, since the account they point to stays, anonymised.

What deletion does (`Erase`): DELETE the rows; ANONYMISE them (the rows stay, so that the
organisers' figures stay right, and the `blank` columns take neutral values); or KEEP them as
they are, because once the account is anonymised they name nobody (the funnel's rows, the
self-declared answers counted for funders) and the figures read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, and_, or_, select

from fair.i18n import N_, gettext
from fair.models import Base, User

# A column whose name says it may hold personal data (checked by the registry's test).
PERSONAL_COLUMN = re.compile(
    r"(^|_)(email|phone|to_addr|ip|body|message|comment|reason|note|accommodation|wanted_jobs"
    r"|user_agent|birth_year|address|cv_text|text)$"
)
# What an erased account is called wherever its owner was shown (recruiters' pages, lists):
# stored in the row as a marker, the same in every language, that `shown` puts in the reader's
# language. It starts with a control character, which no form or API lets through
# (fair.parse), so no real name can be taken for it.
ERASED_CANDIDATE = "\x1ferased:candidate"
ERASED_ACCOUNT = "\x1ferased:account"
LABELS = {
    ERASED_CANDIDATE: N_("Deleted candidate"),
    ERASED_ACCOUNT: N_("Deleted account"),
}
# Shown instead of an address of the reserved .invalid domain (RFC 2606): an erased account's,
# or the login of an account made without e-mail (fair.accounts.NO_MAILBOX_DOMAIN).
NO_EMAIL = N_("no e-mail")


def erased_name(user: User) -> str:
    return ERASED_CANDIDATE if user.role == "candidate" else ERASED_ACCOUNT


def erased_email(user: User) -> str:
    """The address an erased account keeps (unique, in the reserved .invalid domain)."""
    return f"erased-{user.id}@erased.invalid"


def is_placeholder_address(value: str) -> bool:
    """An address nobody reads: an erased account's, or an account's without e-mail."""
    return "@" in value and value.lower().endswith(".invalid")


def shown(value: str, locale: str | None = None) -> str:
    """What a page, an export or the API shows for a stored name or address: the markers of
    an erased account and the placeholder addresses in the reader's language, anything else
    as it is (every page's output goes through it: fair.web.templating)."""
    label = LABELS.get(value)
    if label is not None:
        return gettext(label, locale)
    if is_placeholder_address(value):
        return gettext(NO_EMAIL, locale)
    return value


class Erase(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    KEEP = "keep"


# A neutral value, or one computed from the erased account.
Blank = object | Callable[[User], object]


@dataclass(frozen=True)
class Via:
    """Rows pointing (`column`) to a row of `table` whose `subject` is the person."""

    column: str
    table: str
    subject: str


@dataclass(frozen=True)
class Table:
    name: str
    erase: Erase
    why: str
    subjects: tuple[str, ...] = ()
    via: Via | None = None
    email: str | None = None
    blank: Mapping[str, Blank] = field(default_factory=dict)
    actors: tuple[str, ...] = ()
    # Never in a download: hashes, tokens and secrets (a file's bytes go beside the JSON).
    secret: tuple[str, ...] = ()
    # Only the rows with these values (a column: the values), for export and erasure alike.
    only: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def about_people(self) -> bool:
        """Whether some rows are about one person (exported to them, erased with them)."""
        return bool(self.subjects or self.via or self.email)


D, A, K = Erase.DELETE, Erase.ANONYMISE, Erase.KEEP
FIGURES = "kept for the organisers' figures; names nobody once the account is anonymised"

TABLES: tuple[Table, ...] = (
    # Accounts ----------------------------------------------------------------------------------
    Table(
        "users",
        A,
        "the account stays so that its applications still count; name, address, password gone",
        subjects=("id",),
        blank={
            "name": erased_name,
            "email": erased_email,
            "password_hash": "!erased",
            "auth_version": "erased",
            "is_active": False,
        },
        secret=("password_hash", "auth_version"),
    ),
    Table("user_sessions", D, "logged-in browsers", ("user_id",), secret=("key_hash",)),
    Table("password_resets", D, "mailed links", ("user_id",), secret=("token_hash",)),
    Table("mail_requests", D, "rate limit of mails to an address", email="email"),
    Table("login_failures", D, "rate limit of log-ins", email="email"),
    Table("outbox_mails", D, "mails sent to the person", email="to_addr"),
    Table("notices", D, "in-app notices", ("user_id",)),
    Table(
        "stored_files",
        D,
        "CVs and photos (an employer's logo or an edition's banner stays with them)",
        ("owner_id",),
        secret=("data",),
        only={"kind": ("cv", "photo")},
    ),
    Table("calendar_feeds", D, "a secret feed URL", ("user_id",), secret=("token",)),
    Table("data_exports", D, "downloads of one's data", ("user_id",)),
    Table("erased_accounts", K, "says the account was erased", ("user_id",)),
    # Candidates --------------------------------------------------------------------------------
    Table(
        "candidate_profiles",
        A,
        "phone and jobs wanted removed; the commune stays for the EPCI of residence figures",
        ("user_id",),
        blank={"phone": "", "wanted_jobs": "", "cv_file_id": None},
    ),
    Table("job_search_profiles", D, "where the candidate lives, how far they go", ("user_id",)),
    Table("job_search_targets", D, "the jobs the candidate looks for", ("user_id",)),
    Table("job_search_contracts", D, "the contracts the candidate wants", ("user_id",)),
    Table("job_alerts", D, "mails of new matching offers", ("user_id",)),
    Table("job_alert_offers", D, "offers already sent by an alert", ("user_id",)),
    Table("priority_declarations", K, FIGURES + " (figures per public)", ("user_id",)),
    Table(
        "applications",
        A,
        "kept for the funnel; the candidate's and the recruiter's messages removed",
        ("candidate_id",),
        blank={"message": "", "status_message": "", "cv_file_id": None},
    ),
    Table(
        "application_events",
        K,
        FIGURES + " (statuses and dates)",
        via=Via("application_id", "applications", "candidate_id"),
        actors=("by_user_id",),
    ),
    Table("edition_candidates", K, FIGURES, ("user_id",)),
    Table("booth_candidates", K, FIGURES, ("user_id",)),
    Table("active_days", K, FIGURES, ("user_id",)),
    Table("hire_confirmations", K, FIGURES, ("candidate_id",), actors=("confirmed_by_id",)),
    Table("job_reports", K, FIGURES + " (returns to work)", ("user_id",)),
    Table(
        "survey_answers", A, "scores kept, free text removed", ("user_id",), blank={"comment": ""}
    ),
    # Live booths -------------------------------------------------------------------------------
    Table("queue_entries", K, FIGURES + " (queues)", ("candidate_id",), actors=("called_by_id",)),
    Table(
        "conversations",
        K,
        FIGURES + " (conversations held)",
        ("candidate_id",),
        actors=("recruiter_id", "requested_by_id"),
    ),
    Table(
        "conversation_messages",
        D,
        "the text of the person's conversations",
        ("sender_id",),
        via=Via("conversation_id", "conversations", "candidate_id"),
        actors=("deleted_by_id",),
    ),
    Table("booth_presence", D, "a recruiter's open socket", ("user_id",)),
    Table(
        "qa_messages",
        A,
        "a public question or answer: its text removed, the thread kept",
        ("author_id",),
        blank={"body": ""},
        actors=("deleted_by_id",),
    ),
    Table(
        "chat_mutes",
        A,
        "moderation history; the reason removed",
        ("user_id",),
        blank={"reason": ""},
        actors=("muted_by_id", "lifted_by_id"),
    ),
    Table(
        "chat_reports",
        A,
        "moderation history; the reason removed",
        ("reporter_id",),
        blank={"reason": ""},
        actors=("resolved_by_id",),
    ),
    # Interviews --------------------------------------------------------------------------------
    Table("interview_slots", K, "a recruiter's published times", ("staff_id",)),
    Table(
        "interview_invitations",
        K,
        FIGURES,
        ("candidate_id",),
        actors=("invited_by_id",),
    ),
    Table(
        "interviews",
        A,
        "kept for the funnel; accommodations asked and reasons given removed",
        ("candidate_id",),
        blank={"accommodation": "", "cancel_reason": ""},
        actors=("recruiter_id", "booked_by_id", "cancelled_by_id"),
        secret=("room_secret",),
    ),
    Table(
        "room_messages",
        D,
        "the text written in interview rooms",
        ("sender_id",),
        via=Via("interview_id", "interviews", "candidate_id"),
    ),
    # Webconferences ----------------------------------------------------------------------------
    Table("webconference_presenters", D, "a presenter of a talk", ("user_id",)),
    Table("webconference_registrations", K, FIGURES + " (registrations)", ("candidate_id",)),
    Table("webconference_attendances", K, FIGURES + " (audience)", ("user_id",)),
    Table(
        "webconference_questions",
        A,
        "counted in a talk's figures: the text removed",
        ("author_id",),
        blank={"body": ""},
        actors=("moderated_by_id",),
    ),
    Table("webconference_votes", K, "counted in each question's votes", ("user_id",)),
    Table("webconference_recordings", K, "a talk's replay", actors=("consented_by_id",)),
    # Counsellors (fair.structures, fair.counsellors) -------------------------------------------
    Table("structures", K, "a structure", actors=("approved_by_id", "created_by_id")),
    Table("structure_editions", K, "editions admitting a structure", actors=("admitted_by_id",)),
    Table("structure_members", D, "a counsellor's structure", ("user_id",)),
    Table(
        "accompaniments",
        D,
        "a counsellor's follow-up of the candidate, with their consent",
        ("candidate_id",),
        actors=("counsellor_id", "ended_by_id"),
    ),
    Table(
        "counsellor_actions",
        D,
        "what a counsellor did on the candidate's behalf",
        ("candidate_id",),
        actors=("counsellor_id",),
    ),
    Table(
        "application_endorsements",
        A,
        "an application put forward: kept with it, the counsellor's note removed",
        via=Via("application_id", "applications", "candidate_id"),
        blank={"note": ""},
        actors=("counsellor_id",),
    ),
    # Recruiters and organisers -----------------------------------------------------------------
    Table("recruiter_profiles", D, "a recruiter's job title and photo", ("user_id",)),
    Table("employer_members", D, "membership of an employer", ("user_id",)),
    Table("edition_organisers", D, "organisers of an edition", ("user_id",)),
    Table(
        "invitations",
        D,
        "invitations to join an employer",
        email="email",
        actors=("invited_by_id",),
        secret=("token_hash",),
    ),
    Table("editions", K, "the edition", actors=("created_by_id",)),
    Table("employers", K, "the employer", actors=("created_by_id",)),
    Table(
        "booths", K, "the booth; a decline reason is about the employer", actors=("decided_by_id",)
    ),
    Table("webconferences", K, "the talk", actors=("created_by_id",)),
    Table("health_reminders", K, "who reminded whom, counted", actors=("sent_by_id",)),
    Table("export_records", K, "the audit of personal exports", actors=("user_id",)),
    Table("api_keys", K, "partners' keys", actors=("created_by_id",), secret=("secret_hash",)),
    Table(
        "webhook_endpoints", K, "partners' endpoints", actors=("created_by_id",), secret=("secret",)
    ),
    Table("webhook_deliveries", K, "events sent to partners: ids only, no name"),
    Table("api_idempotency", K, "answers to partners' offer writes, kept a day"),
    # The network of territories (fair.network) -------------------------------------------------
    Table(
        "network_partners",
        K,
        "a partner instance of an edition",
        actors=("created_by_id",),
        secret=("their_key_sealed",),
    ),
    Table(
        "network_applications",
        D,
        "the candidate's applications to partners' offers, with their message (the origin "
        "instance keeps its own copy, under its own rules)",
        ("candidate_id",),
    ),
    Table(
        "network_contacts",
        K,
        "an organisation's contact requests to partners' pool candidates, with the contact "
        "details of those who accepted (people of the partner instance, not accounts here; "
        "the details are removed with the retention period, fair.retention)",
        actors=("requester_id",),
    ),
    Table(
        "network_contacts_in",
        D,
        "at the profile's instance: a contact request that came from a partner instance, with "
        "the name of the person who asked there",
        via=Via("contact_request_id", "contact_requests", "candidate_id"),
    ),
    Table(
        "network_candidates",
        D,
        "at the origin: an applicant from a partner instance, known by the partner's key",
        ("user_id",),
    ),
    # The CV pool (fair.cv_pool) ---------------------------------------------------------------
    Table(
        "cv_texts",
        D,
        "the text read from the CV, the jobs wanted and the commune's centre, indexed for the "
        "CV pool's search",
        ("user_id",),
    ),
    Table(
        "pool_consents", D, "the consents to the CV pool: level, period, withdrawal", ("user_id",)
    ),
    Table(
        "contact_requests",
        D,
        "recruiters' and agencies' requests to contact the candidate, with their message",
        ("candidate_id",),
        actors=("requester_id",),
    ),
    Table(
        "personal_data_accesses",
        D,
        "who opened the candidate's profile, contact details or CV, and when",
        ("subject_id",),
        actors=("viewer_id",),
    ),
)

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}


def user_columns(table_name: str) -> set[str]:
    """The columns of a table that point to users."""
    table = Base.metadata.tables[table_name]
    return {
        column.name
        for column in table.columns
        for key in column.foreign_keys
        if key.column.table.name == "users"
    }


def needs_declaring(table_name: str) -> bool:
    """Whether a table must be declared: a foreign key to users, or a personal column."""
    table = Base.metadata.tables[table_name]
    return bool(user_columns(table_name)) or any(
        PERSONAL_COLUMN.search(column.name) for column in table.columns
    )


def problems() -> list[str]:
    """What is wrong with the declarations against the models (empty when all is right)."""
    found: list[str] = []
    tables = Base.metadata.tables
    for name in sorted(tables):
        if name != "users" and needs_declaring(name) and name not in BY_NAME:
            found.append(f"{name}: not declared in fair.personal_data.TABLES")
    for declared in TABLES:
        if declared.name not in tables:
            found.append(f"{declared.name}: declared but no such table")
            continue
        columns = tables[declared.name].columns
        found += _column_problems(declared, {c.name for c in columns})
        binary = {c.name for c in columns if isinstance(c.type, LargeBinary)}
        if declared.about_people:
            found += [
                f"{declared.name}.{c}: bytes cannot go in data.json: declare it secret"
                for c in sorted(binary - set(declared.secret))
            ]
    return found


def _column_problems(declared: Table, columns: set[str]) -> list[str]:
    found: list[str] = []
    named = set(declared.subjects) | set(declared.actors) | set(declared.blank)
    named |= set(declared.secret) | set(declared.only)
    if declared.email is not None:
        named.add(declared.email)
    if declared.via is not None:
        named.add(declared.via.column)
    found += [f"{declared.name}.{c}: no such column" for c in sorted(named - columns)]
    pointing = user_columns(declared.name) - set(declared.subjects) - set(declared.actors)
    found += [f"{declared.name}.{c}: points to users, neither subject nor actor" for c in pointing]
    if declared.erase is Erase.ANONYMISE and not declared.blank:
        found.append(f"{declared.name}: anonymised, but no column is blanked")
    if declared.erase is not Erase.KEEP and not declared.about_people:
        found.append(f"{declared.name}: erased, but no row is about a person")
    return found


def blank_values(declared: Table, user: User) -> dict[str, Any]:
    """The values an anonymised row's columns take."""
    return {
        name: value(user) if callable(value) else value for name, value in declared.blank.items()
    }


def rows_of(declared: Table, *, user_id: int, email: str) -> ColumnElement[bool]:
    """The condition that picks the rows of `declared` about this person."""
    tables = Base.metadata.tables
    table = tables[declared.name]
    found: list[ColumnElement[bool]] = [table.c[name] == user_id for name in declared.subjects]
    if declared.via is not None:
        other = tables[declared.via.table]
        owned = select(other.c.id).where(other.c[declared.via.subject] == user_id)
        found.append(table.c[declared.via.column].in_(owned))
    if declared.email is not None:
        found.append(table.c[declared.email] == email)
    restricted = [table.c[name].in_(values) for name, values in declared.only.items()]
    return and_(or_(*found), *restricted)
