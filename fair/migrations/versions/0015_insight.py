"""organiser insight: edition registrations, follow-ups, hires, surveys, reminders, exports

Candidates registered to an edition; the mailings sent once per edition (survey, follow-ups at
J+30/90/180); recruiters' hire confirmations and candidates' job reports; satisfaction survey
answers; health-check reminders; the audit of exports (fair.participants, fair.outcomes,
fair.surveys, fair.health, fair.exports).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "edition_candidates",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        _fk("edition_candidates", "edition_id", "editions"),
        _fk("edition_candidates", "user_id", "users"),
        sa.PrimaryKeyConstraint("edition_id", "user_id", name=op.f("pk_edition_candidates")),
    )
    op.create_index("ix_edition_candidates_user_id", "edition_candidates", ["user_id"])
    op.create_index(
        "ix_edition_candidates_edition_at", "edition_candidates", ["edition_id", "registered_at"]
    )
    op.create_table(
        "edition_mailings",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        _fk("edition_mailings", "edition_id", "editions"),
        sa.PrimaryKeyConstraint("edition_id", "kind", name=op.f("pk_edition_mailings")),
    )
    op.create_table(
        "hire_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("hired", sa.Boolean(), nullable=False),
        sa.Column("contract", sa.String(20), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        _fk("hire_confirmations", "application_id", "applications"),
        _fk("hire_confirmations", "edition_id", "editions"),
        _fk("hire_confirmations", "booth_id", "booths"),
        _fk("hire_confirmations", "candidate_id", "users"),
        _fk("hire_confirmations", "confirmed_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hire_confirmations")),
        sa.UniqueConstraint("application_id", name=op.f("uq_hire_confirmations_application_id")),
    )
    for column in ("edition_id", "booth_id", "candidate_id", "confirmed_by_id"):
        op.create_index(f"ix_hire_confirmations_{column}", "hire_confirmations", [column])
    op.create_table(
        "job_reports",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=True),
        sa.Column("employer_name", sa.String(200), nullable=False),
        sa.Column("contract", sa.String(20), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        _fk("job_reports", "edition_id", "editions"),
        _fk("job_reports", "user_id", "users"),
        _fk("job_reports", "booth_id", "booths", "SET NULL"),
        sa.PrimaryKeyConstraint("edition_id", "user_id", name=op.f("pk_job_reports")),
    )
    op.create_index("ix_job_reports_user_id", "job_reports", ["user_id"])
    op.create_index("ix_job_reports_booth_id", "job_reports", ["booth_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=True),
        sa.Column("overall", sa.Integer(), nullable=True),
        sa.Column("ease", sa.Integer(), nullable=True),
        sa.Column("contacts", sa.Integer(), nullable=True),
        sa.Column("organisation", sa.Integer(), nullable=True),
        sa.Column("recommend", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        _fk("survey_answers", "edition_id", "editions"),
        _fk("survey_answers", "user_id", "users", "SET NULL"),
        _fk("survey_answers", "booth_id", "booths", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("edition_id", "user_id", name=op.f("uq_survey_answers_edition_id")),
    )
    for column in ("edition_id", "user_id", "booth_id"):
        op.create_index(f"ix_survey_answers_{column}", "survey_answers", [column])
    op.create_table(
        "health_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("check", sa.String(40), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        _fk("health_reminders", "edition_id", "editions"),
        _fk("health_reminders", "sent_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_reminders")),
    )
    for column in ("edition_id", "sent_by_id"):
        op.create_index(f"ix_health_reminders_{column}", "health_reminders", [column])
    op.create_table(
        "export_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("what", sa.String(40), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("personal", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        _fk("export_records", "edition_id", "editions"),
        _fk("export_records", "booth_id", "booths", "SET NULL"),
        _fk("export_records", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_records")),
    )
    for column in ("booth_id", "user_id"):
        op.create_index(f"ix_export_records_{column}", "export_records", [column])
    op.create_index("ix_export_records_edition_at", "export_records", ["edition_id", "created_at"])


def downgrade() -> None:
    for table in (
        "export_records",
        "health_reminders",
        "survey_answers",
        "job_reports",
        "hire_confirmations",
        "edition_mailings",
        "edition_candidates",
    ):
        op.drop_table(table)
