"""cv_pool (fair.cv_pool): consents to the CV pool, CV texts and their French index, contact
requests, the personal-data access log

`cv_texts`: per candidate, the text extracted from their CV, their jobs wanted and their
commune's centre, with a full-text index built as the offers' is (0001): on SQLite an FTS5
table over the Python-computed stems kept by triggers, on PostgreSQL a generated tsvector under
`fair_french` with a GIN index. `pool_consents`: the history of each candidate's consents
(level, period, withdrawal, wording). `contact_requests`: recruiters' and agencies' requests to
contact a pool candidate. `personal_data_accesses`: who opened which candidate's data, when.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
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


def upgrade() -> None:
    op.create_table(
        "cv_texts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=12), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("jobs", sa.Text(), nullable=False),
        sa.Column("jobs_stems", sa.Text(), nullable=False),
        sa.Column("content_stems", sa.Text(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("extracted_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("cv_texts", "user_id", "users"),
        _fk("cv_texts", "file_id", "stored_files", "SET NULL"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_cv_texts")),
        sa.UniqueConstraint("ref", name=op.f("uq_cv_texts_ref")),
    )
    _indexes("cv_texts", "file_id")
    op.create_index("ix_cv_texts_latlon", "cv_texts", ["latitude", "longitude"], unique=False)
    op.create_table(
        "pool_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("territory", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(), nullable=True),
        sa.Column("wording", sa.String(length=20), nullable=False),
        sa.Column("active_key", sa.Integer(), nullable=True),
        sa.Column("reminded_days", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("pool_consents", "user_id", "users"),
        _fk("pool_consents", "edition_id", "editions", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_consents")),
        sa.UniqueConstraint("user_id", "active_key", name=op.f("uq_pool_consents_user_id")),
    )
    _indexes("pool_consents", "user_id", "edition_id")
    op.create_index(
        "ix_pool_consents_active_ends", "pool_consents", ["active_key", "ends_at"], unique=False
    )
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("employer_id", sa.Integer(), nullable=True),
        sa.Column("structure_id", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("active_key", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        _fk("contact_requests", "candidate_id", "users"),
        _fk("contact_requests", "requester_id", "users", "SET NULL"),
        _fk("contact_requests", "employer_id", "employers"),
        _fk("contact_requests", "consent_id", "pool_consents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_requests")),
        sa.UniqueConstraint(
            "candidate_id",
            "requester_id",
            "active_key",
            name=op.f("uq_contact_requests_candidate_id"),
        ),
    )
    _indexes(
        "contact_requests",
        "candidate_id",
        "requester_id",
        "employer_id",
        "structure_id",
        "consent_id",
    )
    op.create_index(
        "ix_contact_requests_candidate_status",
        "contact_requests",
        ["candidate_id", "status"],
        unique=False,
    )
    op.create_table(
        "personal_data_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("viewer_id", sa.Integer(), nullable=True),
        sa.Column("viewer", sa.String(length=300), nullable=False),
        sa.Column("what", sa.String(length=30), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        _fk("personal_data_accesses", "subject_id", "users"),
        _fk("personal_data_accesses", "viewer_id", "users", "SET NULL"),
        _fk("personal_data_accesses", "consent_id", "pool_consents", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_accesses")),
    )
    _indexes("personal_data_accesses", "viewer_id", "consent_id")
    op.create_index(
        "ix_personal_data_accesses_subject_at",
        "personal_data_accesses",
        ["subject_id", "at"],
        unique=False,
    )
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


SQLITE_SEARCH = [
    # External-content FTS5 index over the Python-computed stems (fair.search.stems), as offers.
    """CREATE VIRTUAL TABLE cv_texts_fts USING fts5(
        jobs_stems, content_stems, content='cv_texts', content_rowid='user_id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER cv_texts_fts_ai AFTER INSERT ON cv_texts BEGIN
        INSERT INTO cv_texts_fts(rowid, jobs_stems, content_stems)
        VALUES (new.user_id, new.jobs_stems, new.content_stems); END""",
    """CREATE TRIGGER cv_texts_fts_ad AFTER DELETE ON cv_texts BEGIN
        INSERT INTO cv_texts_fts(cv_texts_fts, rowid, jobs_stems, content_stems)
        VALUES ('delete', old.user_id, old.jobs_stems, old.content_stems); END""",
    """CREATE TRIGGER cv_texts_fts_au AFTER UPDATE OF jobs_stems, content_stems ON cv_texts BEGIN
        INSERT INTO cv_texts_fts(cv_texts_fts, rowid, jobs_stems, content_stems)
        VALUES ('delete', old.user_id, old.jobs_stems, old.content_stems);
        INSERT INTO cv_texts_fts(rowid, jobs_stems, content_stems)
        VALUES (new.user_id, new.jobs_stems, new.content_stems); END""",
]

# The fair_french configuration exists since 0001 (unaccent, then french_stem).
POSTGRES_SEARCH = [
    """ALTER TABLE cv_texts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('fair_french', jobs), 'A') ||
        setweight(to_tsvector('fair_french', content), 'B')) STORED""",
    "CREATE INDEX ix_cv_texts_search_vector ON cv_texts USING gin (search_vector)",
]


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("cv_texts_fts_ai", "cv_texts_fts_ad", "cv_texts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS cv_texts_fts")
    op.drop_table("personal_data_accesses")
    op.drop_table("contact_requests")
    op.drop_table("pool_consents")
    op.drop_table("cv_texts")
