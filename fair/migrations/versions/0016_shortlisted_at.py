"""applications: when each was first shortlisted, and an index for the funnel's reads

`shortlisted_at` is set by applications.set_status on the first move into "shortlisted" or a
status after it, so that the organiser's funnel (fair.insight) counts an application shortlisted
and later not retained or withdrawn without reading the history (application_events) of every
edition. Filled here from that history: the first such move, or, for an application already
at such a status with no such move recorded, when its status last changed. The index holds what
the funnel reads of an edition's applications, so both its statements read the index alone.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FROM_SHORTLIST = (
    "shortlisted",
    "interview_proposed",
    "interview_scheduled",
    "interviewed",
    "no_show",
    "hired",
)


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shortlisted_at", sa.DateTime(), nullable=True))
    applications = sa.table(
        "applications",
        sa.column("id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("status_changed_at", sa.DateTime()),
        sa.column("shortlisted_at", sa.DateTime()),
    )
    events = sa.table(
        "application_events",
        sa.column("application_id", sa.Integer()),
        sa.column("to_status", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    first = (
        sa.select(sa.func.min(events.c.created_at))
        .where(
            events.c.application_id == applications.c.id,
            events.c.to_status.in_(FROM_SHORTLIST),
        )
        .scalar_subquery()
    )
    op.execute(applications.update().values(shortlisted_at=first))
    op.execute(
        applications.update()
        .where(
            applications.c.shortlisted_at.is_(None),
            applications.c.status.in_(FROM_SHORTLIST),
        )
        .values(shortlisted_at=applications.c.status_changed_at)
    )
    op.create_index(
        "ix_applications_funnel",
        "applications",
        ["edition_id", "candidate_id", "booth_id", "status", "shortlisted_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_applications_funnel", table_name="applications")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("shortlisted_at")
