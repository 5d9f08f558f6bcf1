"""Typed SQLAlchemy tables. No business logic here: domain modules own every state change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from fair import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, returned timezone-aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use fair.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    # Rotated on password change and reset: every session cookie carrying the old one dies.
    auth_version: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the owner opened a link mailed to the address (sign-up, reset, welcome);
    # a signed-up account cannot log in before.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserSession(Base):
    """One logged-in browser: the cookie holds a random key, the table only its hash."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = _fk("users.id")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(120), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasswordReset(Base):
    """A mailed link: "reset" and "welcome" choose a password, "signup" confirms an address."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("users.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    kind: Mapped[str] = mapped_column(String(10), default="reset")


class MailRequest(Base):
    """An anonymous request that mails an address (a password reset, a sign-up), known or not,
    kept an hour to rate limit them (fair.throttle)."""

    __tablename__ = "mail_requests"
    __table_args__ = (
        Index("ix_mail_requests_email_at", "email", "created_at"),
        Index("ix_mail_requests_ip_kind_at", "ip", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed log-in, kept a short while to slow down password guessing."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "created_at"),
        Index("ix_login_failures_ip_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMail(Base):
    """A message queued in the same transaction as the change it reports."""

    __tablename__ = "outbox_mails"
    __table_args__ = (Index("ix_outbox_mails_due", "sent_at", "failed_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # An iCalendar invitation (text/calendar, METHOD REQUEST or CANCEL) sent with the message.
    calendar: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The sender's schedule (fair.mail): not before this time (None: at once); given up at
    # failed_at after too many attempts, until an administrator retries it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Extra headers, a JSON object (fair.mail.EXTRA_HEADERS only): the one-click stop of a
    # mail one asked for (List-Unsubscribe, RFC 8058: fair.stop_links).
    headers: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The id of the request that queued it (fair.logs), logged by the sender: None outside any.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Notice(Base):
    """An in-app notice; `kind` and `params` are rendered in the reader's language."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("users.id")
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StoredFile(Base):
    """An uploaded file, kept in the database so every host of a scaled-out fair sees it."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = _fk("users.id")
    kind: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Edition(Base):
    __tablename__ = "editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    territory: Mapped[str] = mapped_column(String(200))
    partners: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    applications_open_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applications_close_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Whether its search shows the network partners' offers (fair.network.shows_network).
    network_offers: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Admission control (fair.admission): at most this many active candidates, and this many
    # admitted a minute; None: the platform's defaults (FAIR_ADMISSION_*), 0 there: no cap.
    admission_active_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    admission_arrivals_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    # When its public data last changed (the API's updated_since): every UPDATE of the row sets
    # it, so no domain function can forget (editions.update also sets it for its live days).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    live_days: Mapped[list[LiveDay]] = relationship(
        lazy="raise", order_by="LiveDay.day", cascade="all, delete-orphan"
    )
    # Loaded with the edition by editions.get and editions.by_slug (a joined load).
    brand: Mapped[EditionBrand | None] = relationship(lazy="raise", uselist=False)


class EditionOrganiser(Base):
    __tablename__ = "edition_organisers"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EditionBrand(Base):
    """An edition's branding (fair.branding), once its organiser sets any of it.

    The text colour ("#ffffff" or "#000000") is the one that reads on the primary colour.
    """

    __tablename__ = "edition_brands"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    text_colour: Mapped[str | None] = mapped_column(String(7), nullable=True)
    logo_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    banner_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")


class EditionPartner(Base):
    """A partner of an edition shown with its logo on the edition's public pages, in order."""

    __tablename__ = "edition_partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    link: Mapped[str] = mapped_column(String(300), default="")
    logo_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")


class ImageVariant(Base):
    """One derived size and format of an uploaded image (fair.images), served instead of it."""

    __tablename__ = "image_variants"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True
    )
    width: Mapped[int] = mapped_column(Integer, primary_key=True)
    format: Mapped[str] = mapped_column(String(10), primary_key=True)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LiveDay(Base):
    __tablename__ = "live_days"
    __table_args__ = (UniqueConstraint("edition_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    day: Mapped[date] = mapped_column(Date)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class Employer(Base):
    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    naf_code: Mapped[str] = mapped_column(String(6))
    sector: Mapped[str] = mapped_column(String(200))
    size: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str] = mapped_column(String(120))
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    video_url: Mapped[str] = mapped_column(String(300), default="")
    logo_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class EmployerMember(Base):
    __tablename__ = "employer_members"

    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = _fk("employers.id")
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Structure(Base):
    """A structure whose counsellors accompany candidates (fair.structures): a France Travail
    agency, a mission locale, a mission Emploi, a PLIE, a Cap emploi or a temporary-work agency
    (enums.StructureKind). Its territory is a département, narrowed to an EPCI (SIREN) or to
    communes (INSEE codes) when given (fair.geo). Approved by an organiser or an administrator:
    only approved structures act (and approved temporary-work agencies may search the CV pool)."""

    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    departement: Mapped[str] = mapped_column(String(3), index=True)
    epci: Mapped[str] = mapped_column(String(9), default="")
    communes: Mapped[list[str]] = mapped_column(JSON, default=list)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class StructureEdition(Base):
    """An edition whose organiser admitted the structure (optional: an administrator's
    structure belongs to no edition)."""

    __tablename__ = "structure_editions"

    structure_id: Mapped[int] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True
    )
    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    admitted_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StructureMember(Base):
    """A counsellor (enums.Role.COUNSELLOR) working for a structure."""

    __tablename__ = "structure_members"

    structure_id: Mapped[int] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Accompaniment(Base):
    """A counsellor of a structure follows a candidate (fair.counsellors). Asked at
    `requested_at`; in force once the candidate consented (`consent_at`, the version of the
    wording shown, and how: in person on the counsellor's screen, at first log-in, or by
    accepting a request) and until `ended_at` (ended by the candidate or the counsellor)."""

    __tablename__ = "accompaniments"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = _fk("structures.id")
    counsellor_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    candidate_id: Mapped[int] = _fk("users.id")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_version: Mapped[str] = mapped_column(String(20), default="")
    consent_via: Mapped[str] = mapped_column(String(20), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class CounsellorAction(Base):
    """Something a counsellor did on a candidate's behalf (a CV uploaded, an interview booked,
    a talk registered, an application put forward), which the candidate can read."""

    __tablename__ = "counsellor_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    accompaniment_id: Mapped[int] = _fk("accompaniments.id")
    candidate_id: Mapped[int] = _fk("users.id")
    counsellor_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    action: Mapped[str] = mapped_column(String(30))
    # What it was about: the interview's employer, the talk's or the offer's title.
    subject: Mapped[str] = mapped_column(String(200), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Booth(Base):
    __tablename__ = "booths"
    __table_args__ = (UniqueConstraint("edition_id", "employer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    employer_id: Mapped[int] = _fk("employers.id")
    status: Mapped[str] = mapped_column(String(20), index=True)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    # As Edition.updated_at; employers.update also sets it on the employer's booths.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    employer: Mapped[Employer] = relationship(lazy="raise")
    edition: Mapped[Edition] = relationship(lazy="raise")


# What the offer search reads of each offer its filters select (fair.search.filters).
SEARCH_COVERED = ("published", "booth_id", "latitude", "longitude", "created_at", "id")


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_edition_published", "edition_id", "published", "created_at"),
        Index("ix_offers_edition_latlon", "edition_id", "latitude", "longitude"),
        # The search filters: job domain with or without a contract, or a contract alone;
        # and the same covering what the search then reads of each offer (migration 0037).
        Index("ix_offers_edition_domain_contract", "edition_id", "rome_domain", "contract"),
        Index("ix_offers_edition_contract", "edition_id", "contract"),
        # Matching (fair.match_offers): the offers of the jobs wanted, with every column its
        # filters and ranking read, so that thousands are ranked from the index alone
        # (PostgreSQL: an index-only scan where autovacuum marked the pages all-visible).
        Index(
            "ix_offers_matching",
            "rome_code",
            "edition_id",
            "published",
            "booth_id",
            "latitude",
            "longitude",
            "remote",
            "contract",
            "working_time",
            "id",
        ),
        Index(
            "ix_offers_search_domain_contract",
            "edition_id",
            "rome_domain",
            "contract",
            *SEARCH_COVERED,
        ),
        Index("ix_offers_search_contract", "edition_id", "contract", *SEARCH_COVERED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    edition_id: Mapped[int] = _fk("editions.id")
    external_id: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    rome_code: Mapped[str] = mapped_column(String(5))  # indexed first by ix_offers_matching
    rome_label: Mapped[str] = mapped_column(String(200))
    rome_domain: Mapped[str] = mapped_column(String(1))
    contract: Mapped[str] = mapped_column(String(20))
    working_time: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str] = mapped_column(String(5))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    positions: Mapped[int] = mapped_column(Integer, default=1)
    salary: Mapped[str] = mapped_column(String(200), default="")
    experience: Mapped[str] = mapped_column(String(20))
    qualification: Mapped[str] = mapped_column(String(200), default="")
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The day the position is to be filled; None: as soon as possible (migration 0039).
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    insertion_clause: Mapped[bool] = mapped_column(Boolean, default=False)
    open_seniors: Mapped[bool] = mapped_column(Boolean, default=False)
    open_under26: Mapped[bool] = mapped_column(Boolean, default=False)
    open_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    no_diploma: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # Accent-free French stems of the searchable text, indexed by SQLite's FTS5 table
    # (PostgreSQL indexes a generated tsvector instead; see the initial migration).
    title_stems: Mapped[str] = mapped_column(Text, default="")
    search_stems: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    booth: Mapped[Booth] = relationship(lazy="raise")


class SearchOffer(Base):
    """What the search's page and count read of each offer, on PostgreSQL only (migration
    0045): a narrow copy of `offers` kept by triggers, with the tsvectors (`search_vector`,
    `title_vector`, not mapped, as on `Offer`) and their GIN index, so that a broad word's
    thousands of matches are checked without reading their wide rows (fair.search.ranking)."""

    __tablename__ = "search_offers"
    # Only PostgreSQL's databases have it: what reads every table skips it elsewhere.
    __table_args__ = {"info": {"dialect": "postgresql"}}

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(Integer)
    booth_id: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean)
    rome_code: Mapped[str] = mapped_column(String(5))
    rome_domain: Mapped[str] = mapped_column(String(1))
    contract: Mapped[str] = mapped_column(String(20))
    working_time: Mapped[str] = mapped_column(String(20))
    remote: Mapped[bool] = mapped_column(Boolean)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    open_seniors: Mapped[bool] = mapped_column(Boolean)
    open_under26: Mapped[bool] = mapped_column(Boolean)
    open_disabled: Mapped[bool] = mapped_column(Boolean)
    no_diploma: Mapped[bool] = mapped_column(Boolean)
    insertion_clause: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title_stems: Mapped[str] = mapped_column(Text)


class OffersVersion(Base):
    """A counter per edition raised by every committed change of what its offers and booths
    answer in the API and feeds (fair.offers_version): the cheap part of their ETags. Its own
    table, so that raising it never copies `editions` (SQLite batch ALTERs)."""

    __tablename__ = "offers_versions"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    # When the row was made: an edition id reused after a deletion starts a new series.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CandidateProfile(Base):
    __tablename__ = "candidate_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(String(30), default="")
    commune: Mapped[str] = mapped_column(String(120), default="")
    wanted_jobs: Mapped[str] = mapped_column(Text, default="")
    cv_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobSearchProfile(Base):
    """A candidate's job search (fair.job_search): where they live, how far and by what means
    they can travel, the working time and start they want, their skills. The target jobs and
    the contracts wanted are child rows, so that searches (the CV pool, matching) filter them in
    SQL. The home commune's label stays on CandidateProfile.commune; its INSEE code and
    coordinates are copied here when it is saved, for bounding-box reads."""

    __tablename__ = "job_search_profiles"
    __table_args__ = (Index("ix_job_search_profiles_latlon", "latitude", "longitude"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    commune_code: Mapped[str] = mapped_column(String(5), default="")  # INSEE; "" unknown
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    # How far from home they would go to work; None when not said.
    max_distance_km: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transport: Mapped[str] = mapped_column(String(20), default="")  # enums.Transport; "" unsaid
    working_time: Mapped[str] = mapped_column(String(20), default="")  # WorkingTime; "" either
    available_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Skills in the candidate's words, and ROME skill codes when the referential is imported.
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    skill_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobSearchTarget(Base):
    """One job a candidate looks for: a ROME code, and the job name they chose (the ROME
    label, or an appellation's with its code when the referential gave one)."""

    __tablename__ = "job_search_targets"
    __table_args__ = (Index("ix_job_search_targets_rome", "rome_code", "user_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0: the first wish
    rome_code: Mapped[str] = mapped_column(String(5))
    appellation_code: Mapped[str] = mapped_column(String(10), default="")
    label: Mapped[str] = mapped_column(String(200))


class JobSearchContract(Base):
    """A contract type a candidate accepts (enums.Contract); none listed means any."""

    __tablename__ = "job_search_contracts"
    __table_args__ = (Index("ix_job_search_contracts_contract", "contract", "user_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    contract: Mapped[str] = mapped_column(String(20), primary_key=True)


class JobAlert(Base):
    """A candidate's request for new matching offers by mail (fair.alerts): a daily digest of
    the offers matching their job-search profile (empty `search`) or a saved search (its
    filters, as the search page reads them). Stopped by a signed link, without logging in."""

    __tablename__ = "job_alerts"
    __table_args__ = (Index("ix_job_alerts_due", "stopped_at", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("users.id")
    search: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Offers published after this instant are the next digest's candidates.
    checked_until: Mapped[datetime] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobAlertOffer(Base):
    """An offer already mailed to a candidate by an alert: never mailed to them twice."""

    __tablename__ = "job_alert_offers"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecruiterProfile(Base):
    """What a recruiter chose to show candidates on the booth pages they staff: a job title and
    a photo, both optional (fair.recruiter_profiles)."""

    __tablename__ = "recruiter_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    job_title: Mapped[str] = mapped_column(String(120), default="")
    photo_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PriorityDeclaration(Base):
    """Self-declared, opt-in priority-public answers: read only by statistics aggregates, never
    shown to recruiters. Each answer is None when the candidate prefers not to say."""

    __tablename__ = "priority_declarations"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Living in a priority neighbourhood of the city policy (QPV).
    priority_neighbourhood: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Living in a rural revitalisation area (FRR, formerly ZRR).
    rural_area: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Receiving the RSA (revenu de solidarité active).
    rsa_beneficiary: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Recognised disabled worker (RQTH) or otherwise entitled to the employment obligation (BOETH).
    disabled_worker: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # Looking for work for 12 months or more.
    long_term_unemployed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # enums.Qualification
    qualification: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # The year only: enough for the age bands (under 26, 26 to 49, 50 or over), less than a
    # date of birth.
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("offer_id", "candidate_id"),
        Index("ix_applications_booth_status", "booth_id", "status"),
        Index("ix_applications_digest", "digested_at", "booth_id"),
        # The funnel's reads of an edition's applications (fair.insight), from the index alone.
        Index(
            "ix_applications_funnel",
            "edition_id",
            "candidate_id",
            "booth_id",
            "status",
            "shortlisted_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = _fk("offers.id")
    booth_id: Mapped[int] = _fk("booths.id")
    edition_id: Mapped[int] = _fk("editions.id")
    candidate_id: Mapped[int] = _fk("users.id")
    message: Mapped[str] = mapped_column(Text, default="")
    cv_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(30))
    status_message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the booth's recruiters were sent it in a digest (fair.application_mail); None: not yet.
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When it first reached "shortlisted" or a status after it (applications.FROM_SHORTLIST),
    # set by applications.set_status: the funnel's "shortlisted" step without reading the
    # history. None: never shortlisted.
    shortlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    offer: Mapped[Offer] = relationship(lazy="raise")
    candidate: Mapped[User] = relationship(lazy="raise")


class ApplicationEndorsement(Base):
    """An application put forward by a counsellor's structure, with the counsellor's note for
    the recruiter (fair.counsellors.put_forward). A side table: `applications` is large."""

    __tablename__ = "application_endorsements"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    structure_id: Mapped[int] = _fk("structures.id")
    counsellor_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BoothDigest(Base):
    """When a booth's recruiters last received a digest of new applications (one an hour)."""

    __tablename__ = "booth_digests"

    booth_id: Mapped[int] = mapped_column(
        ForeignKey("booths.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApplicationEvent(Base):
    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = _fk("applications.id")
    from_status: Mapped[str] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    by_user_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueueEntry(Base):
    """A candidate's place in a booth's drop-in queue during live hours (see fair.queues)."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        # At most one active entry (waiting, called, in conversation) per booth and candidate:
        # active_key is 1 while active and NULL after, and NULLs never collide.
        UniqueConstraint("booth_id", "candidate_id", "active_key"),
        # At most one engaged entry (called or in conversation) per candidate, across booths:
        # the last guard against a candidate pulled by two booths at once.
        UniqueConstraint("candidate_id", "engaged_key"),
        Index("ix_queue_entries_booth_status_joined", "booth_id", "status", "joined_at"),
        Index("ix_queue_entries_status_called", "status", "called_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    candidate_id: Mapped[int] = _fk("users.id")
    status: Mapped[str] = mapped_column(String(20))
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    engaged_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    called_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_step: Mapped[str | None] = mapped_column(String(30), nullable=True)


class Conversation(Base):
    """A private text conversation between a called candidate and a recruiter."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_booth_ended", "booth_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    candidate_id: Mapped[int] = _fk("users.id")
    recruiter_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    queue_entry_id: Mapped[int] = mapped_column(
        ForeignKey("queue_entries.id", ondelete="CASCADE"), unique=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_step: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # How they talk now (an InterviewMode: written chat, video or phone; fair.conversation_calls)
    # and the move to video or phone one of them asked for, until the other accepts or refuses.
    mode: Mapped[str] = mapped_column(String(10), default="chat", server_default="chat")
    requested_mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    requested_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"
    # The chat rate limit counts a sender's recent messages (fair.chat).
    __table_args__ = (Index("ix_conversation_messages_sender_created", "sender_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = _fk("conversations.id")
    sender_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Removed by a moderator (fair.chat): the row stays, the body is no longer shown.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class BoothPresence(Base):
    """A recruiter's open socket staffing a booth (see fair.presence); one row per connection.

    Rows live in the database so that every process sees them; a process that dies leaves
    rows that stop being touched, and `presence.expire` removes them.
    """

    __tablename__ = "booth_presence"
    __table_args__ = (UniqueConstraint("connection_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    user_id: Mapped[int] = _fk("users.id")
    connection_id: Mapped[str] = mapped_column(String(36))
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class QaMessage(Base):
    """A question asked in a booth's public Q&A, or a recruiter's answer to one (fair.chat).

    A question has no `question_id`; an answer points to its question. Moderators remove a
    message softly: the row stays, with who removed it and when.
    """

    __tablename__ = "qa_messages"
    __table_args__ = (
        Index("ix_qa_messages_booth_question_created", "booth_id", "question_id", "created_at"),
        # The chat rate limit counts an author's recent messages.
        Index("ix_qa_messages_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    edition_id: Mapped[int] = _fk("editions.id")
    question_id: Mapped[int | None] = _fk("qa_messages.id", nullable=True)
    author_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class ChatMute(Base):
    """A user muted in an edition's chats by a moderator, for a while or until unmuted.

    Active while `lifted_at` is empty and `until` (None: until unmuted) is in the future.
    """

    __tablename__ = "chat_mutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    user_id: Mapped[int] = _fk("users.id")
    muted_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class ChatReport(Base):
    """A user's report of a Q&A or conversation message, once per user and message."""

    __tablename__ = "chat_reports"
    __table_args__ = (
        # NULLs never collide: each constraint guards one kind of message.
        UniqueConstraint("qa_message_id", "reporter_id"),
        UniqueConstraint("conversation_message_id", "reporter_id"),
        Index("ix_chat_reports_edition_resolved", "edition_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    reporter_id: Mapped[int] = _fk("users.id")
    qa_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("qa_messages.id", ondelete="CASCADE"), nullable=True
    )
    conversation_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), nullable=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)


# Interviews (fair.interviews) ------------------------------------------------------------------


class InterviewRules(Base):
    """An edition's booking rules; fair.interviews has defaults until an organiser sets them."""

    __tablename__ = "interview_rules"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    max_per_booth: Mapped[int] = mapped_column(Integer, default=1)
    max_total: Mapped[int] = mapped_column(Integer, default=5)
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_cutoff_minutes: Mapped[int] = mapped_column(Integer, default=120)
    offer_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # Bookings and moves start at least this long after they are made.
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=120, server_default="120")


class InterviewSlot(Base):
    """One staff member's bookable time at a booth, with the modes they offer."""

    __tablename__ = "interview_slots"
    __table_args__ = (
        UniqueConstraint("staff_id", "starts_at"),
        Index("ix_interview_slots_booth_starts", "booth_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booth_id: Mapped[int] = _fk("booths.id")
    staff_id: Mapped[int] = _fk("users.id")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    modes: Mapped[str] = mapped_column(String(40))  # space-separated InterviewMode values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InterviewInvitation(Base):
    """A recruiter's proposal of an interview to a candidate, from one of their applications."""

    __tablename__ = "interview_invitations"
    __table_args__ = (
        # One open invitation per application: active_key is 1 while open, NULL after.
        UniqueConstraint("application_id", "active_key"),
        Index("ix_interview_invitations_booth_waitlisted", "booth_id", "waitlisted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = _fk("applications.id")
    booth_id: Mapped[int] = _fk("booths.id")
    candidate_id: Mapped[int] = _fk("users.id")
    invited_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(20))
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Interview(Base):
    """A booking of one slot by one candidate, its changes, its room and its outcome."""

    __tablename__ = "interviews"
    __table_args__ = (
        # The last guard of booking: one active (offered, pending, booked) interview per slot.
        UniqueConstraint("slot_id", "active_key"),
        Index("ix_interviews_candidate_status", "candidate_id", "status"),
        Index("ix_interviews_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True)  # the iCalendar UID, stable
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # raised on each change
    slot_id: Mapped[int] = _fk("interview_slots.id")
    invitation_id: Mapped[int] = _fk("interview_invitations.id")
    booth_id: Mapped[int] = _fk("booths.id")
    candidate_id: Mapped[int] = _fk("users.id")
    recruiter_id: Mapped[int] = _fk("users.id")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[str] = mapped_column(String(10))
    accommodation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    booked_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(30), nullable=True)
    reminded_day_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    room_secret: Mapped[str] = mapped_column(String(64))
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the room


class CalendarFeed(Base):
    """A candidate's private calendar feed of their interviews (a secret URL)."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomMessage(Base):
    """A text message written in an interview's room (chat mode), by one of its two people."""

    __tablename__ = "room_messages"
    __table_args__ = (Index("ix_room_messages_interview_created", "interview_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = _fk("interviews.id")
    sender_id: Mapped[int] = _fk("users.id")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Webconferences (fair.webconferences) ----------------------------------------------------------


class Webconference(Base):
    """A talk in an edition's programme: by the organisers, or a booth's (booth_id set)."""

    __tablename__ = "webconferences"
    __table_args__ = (Index("ix_webconferences_edition_starts", "edition_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True)  # iCalendar UIDs derive from it
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # raised on each mailed change
    edition_id: Mapped[int] = _fk("editions.id")
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    access: Mapped[str] = mapped_column(String(20))  # a WebconferenceAccess value
    status: Mapped[str] = mapped_column(String(20))  # a WebconferenceStatus value
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebconferencePresenter(Base):
    """One of a webconference's presenters (three at most), in the order shown."""

    __tablename__ = "webconference_presenters"

    webconference_id: Mapped[int] = mapped_column(
        ForeignKey("webconferences.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class WebconferenceRegistration(Base):
    """A candidate's seat (registered) or place on the waiting list (ordered by id)."""

    __tablename__ = "webconference_registrations"
    __table_args__ = (
        # One active (registered or waiting) registration per candidate: active_key is 1 while
        # active and NULL after, and NULLs never collide.
        UniqueConstraint("webconference_id", "candidate_id", "active_key"),
        Index("ix_webconference_registrations_conf_status", "webconference_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webconference_id: Mapped[int] = _fk("webconferences.id")
    candidate_id: Mapped[int] = _fk("users.id")
    status: Mapped[str] = mapped_column(String(20))  # a RegistrationStatus value
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebconferenceAttendance(Base):
    """Someone watching a webconference, from joining to leaving (filled by the stage)."""

    __tablename__ = "webconference_attendances"
    __table_args__ = (
        Index("ix_webconference_attendances_conf_user", "webconference_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webconference_id: Mapped[int] = _fk("webconferences.id")
    user_id: Mapped[int] = _fk("users.id")
    # The viewing socket (one row per socket: re-watching on the same socket keeps its row).
    connection_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebconferenceQuestion(Base):
    """A viewer's question during a talk; moderators mark it answered or hide it."""

    __tablename__ = "webconference_questions"
    __table_args__ = (
        Index("ix_webconference_questions_conf_status", "webconference_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webconference_id: Mapped[int] = _fk("webconferences.id")
    author_id: Mapped[int] = _fk("users.id")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # a QuestionStatus value
    votes: Mapped[int] = mapped_column(Integer, default=0)  # count of its WebconferenceVote rows
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moderated_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebconferenceVote(Base):
    """One viewer's upvote of a question (once each)."""

    __tablename__ = "webconference_votes"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("webconference_questions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebconferenceRecording(Base):
    """A talk recorded by the media process, with a presenter's consent, for its replay page."""

    __tablename__ = "webconference_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    webconference_id: Mapped[int] = _fk("webconferences.id")
    consented_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # a RecordingStatus value
    path: Mapped[str | None] = mapped_column(String(300), nullable=True)  # under the media dir
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PageView(Base):
    """How many times a public booth page (`offer_id` None) or offer page was viewed on one day
    of the edition's time zone (fair.activity): a count, nothing about who viewed it."""

    __tablename__ = "page_views"
    __table_args__ = (Index("ix_page_views_edition_day", "edition_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    booth_id: Mapped[int] = _fk("booths.id")  # the booth's page, or the offer's booth
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("offers.id", ondelete="CASCADE"), nullable=True
    )
    day: Mapped[date] = mapped_column(Date)
    views: Mapped[int] = mapped_column(Integer)


# One row per page and day: a booth's page (no offer), an offer's page. The upsert of
# fair.activity names these indexes' columns and conditions as its conflict target.
Index(
    "uq_page_views_booth_day",
    PageView.booth_id,
    PageView.day,
    unique=True,
    sqlite_where=PageView.offer_id.is_(None),
    postgresql_where=PageView.offer_id.is_(None),
)
Index(
    "uq_page_views_offer_day",
    PageView.offer_id,
    PageView.day,
    unique=True,
    sqlite_where=PageView.offer_id.isnot(None),
    postgresql_where=PageView.offer_id.isnot(None),
)


def _reached() -> Any:
    """A funnel step's flag: 1 if reached, else 0 (an integer, so that SUM counts it)."""
    return mapped_column(SmallInteger, default=0, server_default="0")


class ActiveDay(Base):
    """A registered candidate opened a public booth or offer page of the edition on that day
    (in the edition's time zone), fair.activity: no time, no page, no address, no browser."""

    __tablename__ = "active_days"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class _BoothSteps:
    """The funnel's steps after "applied" (fair.insight.progress keeps them: 1 or 0)."""

    reached_shortlisted: Mapped[int] = _reached()
    reached_interview_booked: Mapped[int] = _reached()
    reached_held: Mapped[int] = _reached()
    reached_no_show: Mapped[int] = _reached()
    reached_retained: Mapped[int] = _reached()
    reached_hired: Mapped[int] = _reached()


class EditionCandidate(_BoothSteps, Base):
    """A candidate registered to an edition (fair.participants): by the edition page's button, or
    on their first step in it (an application, a queue, a talk, an interview, a page opened
    while logged in). The funnel's first step and the registrations' timeline."""

    __tablename__ = "edition_candidates"
    __table_args__ = (Index("ix_edition_candidates_edition_at", "edition_id", "registered_at"),)

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The funnel's steps this candidate reached in the whole edition (1 or 0), as
    # fair.insight.steps defines them, kept by fair.insight.progress for the unfiltered funnel.
    reached_active: Mapped[int] = _reached()
    reached_applied: Mapped[int] = _reached()


class BoothCandidate(_BoothSteps, Base):
    """A candidate who applied at a booth, with the funnel's steps reached there (1 or 0), as
    fair.insight.steps defines a booth's funnel: kept by fair.insight.progress for the booths'
    table without filters. No row for a candidate who did not apply at the booth."""

    __tablename__ = "booth_candidates"
    __table_args__ = (Index("ix_booth_candidates_edition_user", "edition_id", "user_id"),)

    booth_id: Mapped[int] = mapped_column(
        ForeignKey("booths.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))


class EditionMailing(Base):
    """A mailing sent once per edition by the worker (fair.outcomes, fair.surveys): the
    satisfaction survey, the follow-ups at J+30, J+90 and J+180. Its row is the guard against
    sending it twice, from several workers or after a restart."""

    __tablename__ = "edition_mailings"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class HireConfirmation(Base):
    """A recruiter's answer, after the edition, about a candidate they retained or hired
    (fair.outcomes): hired or not, the contract and its length. One per application, changed
    at a later follow-up if the answer changes."""

    __tablename__ = "hire_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    edition_id: Mapped[int] = _fk("editions.id")
    booth_id: Mapped[int] = _fk("booths.id")
    candidate_id: Mapped[int] = _fk("users.id")
    hired: Mapped[bool] = mapped_column(Boolean)
    contract: Mapped[str | None] = mapped_column(String(20), nullable=True)  # enums.Contract
    # The contract's length in months; None for a permanent contract; 0 for less than a month.
    months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage: Mapped[int] = mapped_column(Integer)  # the follow-up that asked: 30, 90 or 180 days
    confirmed_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobReport(Base):
    """A candidate's own answer after the edition (fair.outcomes): "I found a job", with the
    employer (a booth of the edition or another) and the contract. One per candidate and
    edition, changed at a later follow-up if the answer changes."""

    __tablename__ = "job_reports"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    found: Mapped[bool] = mapped_column(Boolean)
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True, ondelete="SET NULL")
    employer_name: Mapped[str] = mapped_column(String(200), default="")
    contract: Mapped[str | None] = mapped_column(String(20), nullable=True)  # enums.Contract
    months: Mapped[int | None] = mapped_column(Integer, nullable=True)  # as HireConfirmation
    stage: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyAnswer(Base):
    """One person's answer to an edition's satisfaction survey (fair.surveys): scores from 1 to
    5 (None when skipped), would they recommend it, free text. One per person and edition."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("edition_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    user_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    role: Mapped[str] = mapped_column(String(20))  # candidate or recruiter
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True, ondelete="SET NULL")
    overall: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ease: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contacts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    organisation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recommend: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HealthReminder(Base):
    """An organiser's reminder by mail to the people a health check names (fair.health): who
    sent it, when, to how many; the page shows it so nobody is reminded twice in a day."""

    __tablename__ = "health_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    check: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[int] = mapped_column(Integer)
    sent_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportRecord(Base):
    """An export of an edition's data (fair.exports): who, when, what, in which format, how many
    rows; those holding personal data are listed to the edition's organisers."""

    __tablename__ = "export_records"
    __table_args__ = (Index("ix_export_records_edition_at", "edition_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True, ondelete="SET NULL")
    user_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    what: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(10))
    personal: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmbedOrigin(Base):
    """A site allowed to frame an edition's embeddable widget (fair.embeds): its origin, as
    "https://host[:port]", listed by the edition's organisers. Its own table keyed by the
    edition, so that listing sites never rewrites `editions`."""

    __tablename__ = "embed_origins"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True
    )
    origin: Mapped[str] = mapped_column(String(300), primary_key=True)


class ApiKey(Base):
    """A partner's key to the API for one edition (fair.api_keys): shown once as
    "fair_<prefix>_<secret>", kept as its prefix (looked up) and the SHA-256 of its secret.
    `scopes` are fair.enums.ApiScope values; the booth scopes act on `booth_id` only."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKeyUse(Base):
    """A use of a partner key that read or wrote personal data (a booth's applications): the
    audit the edition's organisers read beside the keys."""

    __tablename__ = "api_key_uses"
    __table_args__ = (Index("ix_api_key_uses_edition_at", "edition_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    api_key_id: Mapped[int] = _fk("api_keys.id")
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True, ondelete="SET NULL")
    what: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiIdempotency(Base):
    """A write's answer kept under its Idempotency-Key for a day (fair.api_keys): the same key
    and body get it again; the same key with another body is refused."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = _fk("api_keys.id")
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebhookEndpoint(Base):
    """A URL told of an edition's events (fair.webhooks): an organiser's for the whole edition
    (booth_id None) or a recruiter's for one booth. `secret` is "whsec_" + base64 (Standard
    Webhooks); `events` the subscribed event types; a paused endpoint keeps its deliveries."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    booth_id: Mapped[int | None] = _fk("booths.id", nullable=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class WebhookDelivery(Base):
    """One event for one endpoint, written in the transaction of the change (the outbox); the
    worker claims it (next_attempt_at moved ahead: the lease), posts it, records the attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "delivered_at", "failed_at", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_desc", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(40), unique=True)  # the webhook-id header
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, fixed when queued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The start of its 24 hours of retries (created_at, or a replay).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # The id of the request that queued it (fair.logs), logged by the sender: None outside any.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class WebhookAttempt(Base):
    """One POST of a delivery: the receiver's status code or the error, and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = _fk("webhook_deliveries.id")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer)


class RomeCode(Base):
    """A ROME 4.0 code (fiche) of the imported referential, with its parent fiche (one of the 532
    historical codes; itself when it is one). Filled by `fair rome import` (fair.rome_referential);
    other tables refer to ROME codes by value, never by a foreign key to this table."""

    __tablename__ = "rome_codes"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    label: Mapped[str] = mapped_column(String(300))
    parent: Mapped[str] = mapped_column(String(5))


class RomeVersion(Base):
    """One row: a token that changes whenever the referential's codes or skills change
    (triggers of migration 0038, whoever writes them), so that a process holding them in memory
    (fair.match_referential) knows when to read them again."""

    __tablename__ = "rome_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(40))


class RomeAppellation(Base):
    """An official job name (appellation) of a ROME code, with its normalised stems precomputed
    for the suggestion's index (fair.rome_suggest)."""

    __tablename__ = "rome_appellations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_ogr: Mapped[str] = mapped_column(String(12), default="")  # ROMEO's codeAppellation
    code: Mapped[str] = _fk("rome_codes.code")
    label: Mapped[str] = mapped_column(String(300))
    stems: Mapped[str] = mapped_column(Text, default="")


class RomeSkill(Base):
    """A skill of the referential: a know-how ("compétence") or a knowledge ("savoir"), with a
    link to a training, empty where the data gives none."""

    __tablename__ = "rome_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_ogr: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "competence" or "savoir"
    label: Mapped[str] = mapped_column(Text)
    training_url: Mapped[str] = mapped_column(String(500), default="")


class RomeCodeSkill(Base):
    """A skill of a ROME code; `core` for the job's core skills ("cœur de métier")."""

    __tablename__ = "rome_code_skills"

    code: Mapped[str] = mapped_column(
        ForeignKey("rome_codes.code", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("rome_skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    core: Mapped[bool] = mapped_column(Boolean, default=False)


# Personal data rights (fair.personal_data, fair.data_export, fair.erasure) ---------------------


class DataExport(Base):
    """A download of all of someone's data (fair.data_export): when, to rate limit them and to
    show the person their last ones."""

    __tablename__ = "data_exports"
    __table_args__ = (Index("ix_data_exports_user_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ErasedAccount(Base):
    """An account its owner deleted (fair.erasure): the users row stays, anonymised, so that the
    organisers' figures stay right; this row says it is one and when it was erased."""

    __tablename__ = "erased_accounts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The CV pool (fair.cv_pool, fair.cv_text, fair.contact_requests, fair.access_log) -------------


class CvText(Base):
    """What the CV pool searches of a candidate (fair.cv_text): the text extracted from their CV
    (`file_id`, the PDF it came from: a new CV is extracted again), the jobs they want (their
    profile's), and where they live (their commune's INSEE code and centre). Indexed for French
    full-text search as offers are (fair.search): an FTS5 table over the stems on SQLite, a
    generated tsvector under fair_french with a GIN index on PostgreSQL (migration 0027)."""

    __tablename__ = "cv_texts"
    __table_args__ = (Index("ix_cv_texts_latlon", "latitude", "longitude"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The pseudonym the pool shows instead of a name (fair.cv_text.new_ref): random, stable.
    ref: Mapped[str] = mapped_column(String(12), unique=True)
    file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    # fair.cv_text: "ok", "empty" (no text layer: a scan), "unreadable", or "none" (no CV).
    status: Mapped[str] = mapped_column(String(20))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text, default="")
    jobs: Mapped[str] = mapped_column(Text, default="")
    jobs_stems: Mapped[str] = mapped_column(Text, default="")
    content_stems: Mapped[str] = mapped_column(Text, default="")
    commune_code: Mapped[str] = mapped_column(String(5), default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    extracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PoolConsent(Base):
    """A candidate's consent to the CV pool (fair.cv_pool): its level (enums.PoolLevel), the
    edition it was given from (level 1's audience) and that edition's territory (level 2's),
    its period, the version of the wording they agreed to. Kept after it ends, as the history:
    withdrawn (`withdrawn_at`) or replaced by a renewal or a change (`replaced_at`). In force
    while `active_key` is 1, not withdrawn, and starts_at <= now < ends_at: reads check the
    dates, so an expired consent is invisible at once, whatever the worker does."""

    __tablename__ = "pool_consents"
    __table_args__ = (
        # One current consent per candidate: active_key is 1 until withdrawn or replaced.
        UniqueConstraint("user_id", "active_key"),
        Index("ix_pool_consents_active_ends", "active_key", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("users.id")
    level: Mapped[int] = mapped_column(SmallInteger)
    edition_id: Mapped[int | None] = _fk("editions.id", nullable=True, ondelete="SET NULL")
    territory: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wording: Mapped[str] = mapped_column(String(20))
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The last reminder mailed before the end, in days before it (14, then 2); None: none yet;
    # 0: the candidate stopped the reminders of this consent (fair.pool_mail's stop link).
    reminded_days: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactRequest(Base):
    """A recruiter's or a temporary-work agency's request to contact a pool candidate
    (fair.contact_requests); their contact details and CV stay hidden from that employer or
    agency until the candidate accepts."""

    __tablename__ = "contact_requests"
    __table_args__ = (
        # One open request per candidate and requester: active_key is 1 while requested.
        UniqueConstraint("candidate_id", "requester_id", "active_key"),
        Index("ix_contact_requests_candidate_status", "candidate_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = _fk("users.id")
    requester_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    # The requester's organisation: an employer, or a structure (fair.structures); its name
    # as the candidate read it.
    employer_id: Mapped[int | None] = _fk("employers.id", nullable=True)
    structure_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    organisation: Mapped[str] = mapped_column(String(200))
    consent_id: Mapped[int | None] = _fk("pool_consents.id", nullable=True, ondelete="SET NULL")
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # enums.ContactStatus
    active_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PersonalDataAccess(Base):
    """Someone opened a candidate's personal data (fair.access_log): who (and for which
    organisation, as the candidate reads it), what (enums.AccessKind), when, under which pool
    consent. The candidate reads their own ("who saw my CV")."""

    __tablename__ = "personal_data_accesses"
    __table_args__ = (Index("ix_personal_data_accesses_subject_at", "subject_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    viewer_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    viewer: Mapped[str] = mapped_column(String(300))
    what: Mapped[str] = mapped_column(String(30))
    consent_id: Mapped[int | None] = _fk("pool_consents.id", nullable=True, ondelete="SET NULL")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkPartner(Base):
    """A partner fair instance in an edition's network of territories (fair.network): its base
    URL, the key it gave us (sealed with the site's secret: we must send it in clear), the key
    we issued it (`our_key_id`, network scopes), and where the pull of its offers stands."""

    __tablename__ = "network_partners"
    __table_args__ = (UniqueConstraint("edition_id", "base_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = _fk("editions.id")
    territory: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    their_key_prefix: Mapped[str] = mapped_column(String(16))
    their_key_sealed: Mapped[str] = mapped_column(Text)
    our_key_id: Mapped[int | None] = _fk("api_keys.id", nullable=True, ondelete="SET NULL")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The pull of its offers' delta feed: where to resume, the last answer's ETag.
    cursor: Mapped[str] = mapped_column(String(300), default="")
    etag: Mapped[str] = mapped_column(String(200), default="")
    # The pull of its answers to our candidates' applications.
    status_cursor: Mapped[str] = mapped_column(String(300), default="")
    # Where the pull of our contact requests' answers resumes (fair.network_pool).
    contact_cursor: Mapped[str] = mapped_column(String(300), default="", server_default="")
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_result: Mapped[str] = mapped_column(String(200), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkOffer(Base):
    """A partner's open offer, copied from its delta feed (fair.network_sync) with what the
    search needs; indexed for full-text search as offers are (an FTS5 table on SQLite, a
    generated tsvector on PostgreSQL; see migration 0031)."""

    __tablename__ = "network_offers"
    __table_args__ = (
        UniqueConstraint("partner_id", "origin_id"),
        Index("ix_network_offers_edition_created", "edition_id", "created_at"),
        Index("ix_network_offers_edition_latlon", "edition_id", "latitude", "longitude"),
        # Matching (fair.match_offers), as ix_offers_matching.
        Index(
            "ix_network_offers_matching",
            "rome_code",
            "edition_id",
            "partner_id",
            "latitude",
            "longitude",
            "remote",
            "contract",
            "working_time",
            "origin_id",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = _fk("network_partners.id")
    edition_id: Mapped[int] = _fk("editions.id")
    origin_id: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    employer: Mapped[str] = mapped_column(String(200))
    rome_code: Mapped[str] = mapped_column(String(5))
    rome_domain: Mapped[str] = mapped_column(String(1))
    contract: Mapped[str] = mapped_column(String(20))
    working_time: Mapped[str] = mapped_column(String(20))
    commune: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str] = mapped_column(String(5))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    positions: Mapped[int] = mapped_column(Integer, default=1)
    salary: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    title_stems: Mapped[str] = mapped_column(Text, default="")
    search_stems: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # at the origin
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # at the origin
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)

    partner: Mapped[NetworkPartner] = relationship(lazy="raise")


class NetworkApplication(Base):
    """A candidate's application to a partner's offer (fair.network_applications): queued
    here with the candidate's consent, sent signed to the origin instance, which answers with
    its application's id; its status is pulled back from there."""

    __tablename__ = "network_applications"
    __table_args__ = (
        UniqueConstraint("candidate_id", "partner_id", "origin_offer_id"),
        Index("ix_network_applications_due", "state", "next_attempt_at"),
        Index("ix_network_applications_remote", "partner_id", "remote_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = _fk("network_partners.id")
    candidate_id: Mapped[int] = _fk("users.id")
    network_offer_id: Mapped[int | None] = _fk(
        "network_offers.id", nullable=True, ondelete="SET NULL"
    )
    origin_offer_id: Mapped[int] = mapped_column(Integer)
    offer_title: Mapped[str] = mapped_column(String(200))
    employer: Mapped[str] = mapped_column(String(200))
    territory: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    cv_file_id: Mapped[int | None] = _fk("stored_files.id", nullable=True, ondelete="SET NULL")
    consent: Mapped[str] = mapped_column(Text)  # the wording the candidate agreed to
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))  # queued, sent, failed (the delivery)
    status: Mapped[str] = mapped_column(String(30))  # the origin's ApplicationStatus
    remote_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkCandidate(Base):
    """At the origin: a candidate who applied from a partner instance, known by the partner's
    key and their e-mail; an account without a password (they cannot log in here)."""

    __tablename__ = "network_candidates"
    __table_args__ = (UniqueConstraint("api_key_id", "email"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    api_key_id: Mapped[int] = _fk("api_keys.id")
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkInbound(Base):
    """At the origin: an application that came from a partner instance (fair.network), with
    the partner's key and its own id for it (`reference`), so that its status goes back."""

    __tablename__ = "network_inbound"
    __table_args__ = (UniqueConstraint("api_key_id", "reference"),)

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    api_key_id: Mapped[int] = _fk("api_keys.id")
    reference: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkMessage(Base):
    """A signed request's id, remembered for the replay window (fair.network.verify): the same
    id twice is refused."""

    __tablename__ = "network_messages"
    __table_args__ = (UniqueConstraint("api_key_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = _fk("api_keys.id")
    message_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class NetworkContactIn(Base):
    """At the profile's instance: a contact request that came from a partner instance
    (fair.network_pool): the partner's key, its organisation (`organisation_key`, as the
    partner names it: "employer:12", "structure:3") and person, and its own id for the request
    (`reference`), so that the answer goes back to it."""

    __tablename__ = "network_contacts_in"
    __table_args__ = (
        UniqueConstraint("api_key_id", "reference"),
        Index("ix_network_contacts_in_key_org", "api_key_id", "organisation_key"),
    )

    contact_request_id: Mapped[int] = mapped_column(
        ForeignKey("contact_requests.id", ondelete="CASCADE"), primary_key=True
    )
    api_key_id: Mapped[int] = _fk("api_keys.id")
    organisation_key: Mapped[str] = mapped_column(String(40))
    requester: Mapped[str] = mapped_column(String(120))
    reference: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NetworkContact(Base):
    """At the requester's instance: a contact request sent to a partner's pool profile
    (fair.network_pool), its status pulled back from there, and the candidate's contact
    details once (and only once) they accepted."""

    __tablename__ = "network_contacts"
    __table_args__ = (
        Index("ix_network_contacts_partner_remote", "partner_id", "remote_id"),
        # Its id is the reference the partner keeps: never reused after a delete (SQLite
        # reuses the highest rowid otherwise), or a partner would answer one request for
        # another (migration 0043).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = _fk("network_partners.id")
    requester_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    organisation_key: Mapped[str] = mapped_column(String(40), index=True)
    organisation: Mapped[str] = mapped_column(String(200))
    ref: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    remote_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # enums.ContactStatus, the origin's
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SearchWord(Base):
    """A word (its stem) of the offers' and the partners' offers' titles, and how many titles
    brought it (counted up, never down): the vocabulary that forgives a search's spelling
    (fair.search.terms). Filled by triggers and searched by trigrams (migration 0035)."""

    __tablename__ = "search_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(100), unique=True)
    offers: Mapped[int] = mapped_column(Integer, default=0)
