"""mail retries and application digests

The outbox's schedule (next attempt, given up), when each application went out in its booth's
digest, and when each booth's last digest went. Applications already there count as digested:
the first digest after the upgrade does not repeat the past.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_outbox_mails_due", ["sent_at", "failed_at", "next_attempt_at"], unique=False
        )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digested_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_applications_digest", ["digested_at", "booth_id"], unique=False)
    op.execute("UPDATE applications SET digested_at = created_at")
    op.create_table(
        "booth_digests",
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_booth_digests_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booth_id", name=op.f("pk_booth_digests")),
    )


def downgrade() -> None:
    op.drop_table("booth_digests")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index("ix_applications_digest")
        batch_op.drop_column("digested_at")
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_mails_due")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("next_attempt_at")
