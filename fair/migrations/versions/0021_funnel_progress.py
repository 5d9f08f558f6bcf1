"""the funnel's steps kept per candidate and per candidate and booth (fair.insight.progress)

`edition_candidates.reached_<step>` (1 or 0) for each funnel step after registration, and
`booth_candidates`, one row per candidate and booth they applied at, so that the organiser's
unfiltered funnel and booths' table read one row per candidate instead of aggregating every
application, interview, active day and outcome of the edition per request. Filled here for
every edition by fair.insight.progress's own statements, the funnel's one definition as it
stands at this revision (a later change of that definition rebuilds in its own migration).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

CANDIDATE_STEPS = (
    "active",
    "applied",
    "shortlisted",
    "interview_booked",
    "held",
    "no_show",
    "retained",
    "hired",
)
BOOTH_STEPS = CANDIDATE_STEPS[2:]


def _flag(step: str) -> sa.Column[int]:
    return sa.Column(f"reached_{step}", sa.SmallInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("edition_candidates", schema=None) as batch_op:
        for step in CANDIDATE_STEPS:
            batch_op.add_column(_flag(step))
    op.create_table(
        "booth_candidates",
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        *(_flag(step) for step in BOOTH_STEPS),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_booth_candidates_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_booth_candidates_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_booth_candidates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booth_id", "user_id", name=op.f("pk_booth_candidates")),
    )
    op.create_index(
        "ix_booth_candidates_edition_user", "booth_candidates", ["edition_id", "user_id"]
    )
    _fill()


def _fill() -> None:
    from fair.insight import progress

    connection = op.get_bind()
    editions = connection.execute(sa.text("SELECT id FROM editions ORDER BY id")).scalars()
    for edition_id in list(editions):
        for statement in progress.statements(edition_id, None):
            connection.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_booth_candidates_edition_user", table_name="booth_candidates")
    op.drop_table("booth_candidates")
    with op.batch_alter_table("edition_candidates", schema=None) as batch_op:
        for step in reversed(CANDIDATE_STEPS):
            batch_op.drop_column(f"reached_{step}")
