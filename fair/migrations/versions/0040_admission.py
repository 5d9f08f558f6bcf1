"""admission control (fair.admission): an edition's cap of active candidates and of admissions a
minute, set by its organiser (NULL: the platform's defaults, FAIR_ADMISSION_*)

Revision ID: 0040
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admission_active_cap", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("admission_arrivals_per_minute", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("admission_arrivals_per_minute")
        batch_op.drop_column("admission_active_cap")
