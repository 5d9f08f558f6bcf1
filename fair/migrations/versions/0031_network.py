"""network of territories (fair.network): partner instances, their offers, applications across

`network_partners`: a partner instance of an edition (its URL, its key sealed, the key we issued
it, where the pull of its feeds stands). `network_offers`: the partners' open offers, with a
full-text index of their own (FTS5 on SQLite, a generated tsvector on PostgreSQL, as offers).
`network_applications`: our candidates' applications to them (an outbox, then their status).
At the origin: `network_candidates` (applicants from a partner, no password),
`network_inbound` (which application came from which partner key), `network_messages` (the
signed requests' ids remembered for the replay window).

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def _time(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(), nullable=nullable)


SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE network_offers_fts USING fts5(
        title_stems, search_stems, content='network_offers', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER network_offers_fts_ai AFTER INSERT ON network_offers BEGIN
        INSERT INTO network_offers_fts(rowid, title_stems, search_stems)
        VALUES (new.id, new.title_stems, new.search_stems); END""",
    """CREATE TRIGGER network_offers_fts_ad AFTER DELETE ON network_offers BEGIN
        INSERT INTO network_offers_fts(network_offers_fts, rowid, title_stems, search_stems)
        VALUES ('delete', old.id, old.title_stems, old.search_stems); END""",
    """CREATE TRIGGER network_offers_fts_au AFTER UPDATE OF title_stems, search_stems
        ON network_offers BEGIN
        INSERT INTO network_offers_fts(network_offers_fts, rowid, title_stems, search_stems)
        VALUES ('delete', old.id, old.title_stems, old.search_stems);
        INSERT INTO network_offers_fts(rowid, title_stems, search_stems)
        VALUES (new.id, new.title_stems, new.search_stems); END""",
]
# The `fair_french` configuration exists since the initial migration.
POSTGRES_SEARCH = [
    """ALTER TABLE network_offers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('fair_french', title), 'A') ||
        setweight(to_tsvector('fair_french', employer), 'B') ||
        setweight(to_tsvector('fair_french', description), 'C')) STORED""",
    "CREATE INDEX ix_network_offers_search_vector ON network_offers USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "network_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("territory", sa.String(length=200), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("their_key_prefix", sa.String(length=16), nullable=False),
        sa.Column("their_key_sealed", sa.Text(), nullable=False),
        sa.Column("our_key_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.String(length=300), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=False),
        sa.Column("status_cursor", sa.String(length=300), nullable=False),
        _time("last_sync_at", True),
        _time("last_success_at", True),
        sa.Column("last_result", sa.String(length=200), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _time("created_at"),
        _fk("network_partners", "edition_id", "editions"),
        _fk("network_partners", "our_key_id", "api_keys", "SET NULL"),
        _fk("network_partners", "created_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_partners")),
        sa.UniqueConstraint("edition_id", "base_url", name=op.f("uq_network_partners_edition_id")),
    )
    _indexes("network_partners", "edition_id", "our_key_id", "created_by_id")

    op.create_table(
        "network_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("origin_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("employer", sa.String(length=200), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.Column("rome_domain", sa.String(length=1), nullable=False),
        sa.Column("contract", sa.String(length=20), nullable=False),
        sa.Column("working_time", sa.String(length=20), nullable=False),
        sa.Column("commune", sa.String(length=120), nullable=False),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("salary", sa.String(length=200), nullable=False),
        sa.Column("title_stems", sa.Text(), nullable=False),
        sa.Column("search_stems", sa.Text(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("synced_at"),
        _fk("network_offers", "partner_id", "network_partners"),
        _fk("network_offers", "edition_id", "editions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_offers")),
        sa.UniqueConstraint("partner_id", "origin_id", name=op.f("uq_network_offers_partner_id")),
    )
    _indexes("network_offers", "partner_id", "edition_id")
    with op.batch_alter_table("network_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_network_offers_edition_created", ["edition_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_network_offers_edition_latlon",
            ["edition_id", "latitude", "longitude"],
            unique=False,
        )
    search = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in search:
        op.execute(statement)

    op.create_table(
        "network_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("network_offer_id", sa.Integer(), nullable=True),
        sa.Column("origin_offer_id", sa.Integer(), nullable=False),
        sa.Column("offer_title", sa.String(length=200), nullable=False),
        sa.Column("employer", sa.String(length=200), nullable=False),
        sa.Column("territory", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cv_file_id", sa.Integer(), nullable=True),
        sa.Column("consent", sa.Text(), nullable=False),
        _time("consented_at"),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        _time("next_attempt_at", True),
        _time("created_at"),
        _time("sent_at", True),
        _time("status_changed_at"),
        _fk("network_applications", "partner_id", "network_partners"),
        _fk("network_applications", "candidate_id", "users"),
        _fk("network_applications", "network_offer_id", "network_offers", "SET NULL"),
        _fk("network_applications", "cv_file_id", "stored_files", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_applications")),
        sa.UniqueConstraint(
            "candidate_id",
            "partner_id",
            "origin_offer_id",
            name=op.f("uq_network_applications_candidate_id"),
        ),
    )
    _indexes("network_applications", "partner_id", "candidate_id", "network_offer_id", "cv_file_id")
    with op.batch_alter_table("network_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_network_applications_due", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_network_applications_remote", ["partner_id", "remote_id"], unique=False
        )

    op.create_table(
        "network_candidates",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        _time("created_at"),
        _fk("network_candidates", "user_id", "users"),
        _fk("network_candidates", "api_key_id", "api_keys"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_network_candidates")),
        sa.UniqueConstraint("api_key_id", "email", name=op.f("uq_network_candidates_api_key_id")),
    )
    _indexes("network_candidates", "api_key_id")

    op.create_table(
        "network_inbound",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        _time("created_at"),
        _fk("network_inbound", "application_id", "applications"),
        _fk("network_inbound", "api_key_id", "api_keys"),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_network_inbound")),
        sa.UniqueConstraint("api_key_id", "reference", name=op.f("uq_network_inbound_api_key_id")),
    )
    _indexes("network_inbound", "api_key_id")

    op.create_table(
        "network_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        _time("received_at"),
        _fk("network_messages", "api_key_id", "api_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_messages")),
        sa.UniqueConstraint(
            "api_key_id", "message_id", name=op.f("uq_network_messages_api_key_id")
        ),
    )
    _indexes("network_messages", "api_key_id", "received_at")


def downgrade() -> None:
    op.drop_table("network_messages")
    op.drop_table("network_inbound")
    op.drop_table("network_candidates")
    op.drop_table("network_applications")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("network_offers_fts_ai", "network_offers_fts_ad", "network_offers_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS network_offers_fts")
    op.drop_table("network_offers")
    op.drop_table("network_partners")
