"""public API: when an edition and a booth last changed (the API's updated_since)

`editions.updated_at` and `booths.updated_at`, set on every change of the row (the models'
onupdate). Existing rows get their last known change: an edition's publication (else its
creation), a booth's decision (else its request). Added NOT NULL with a constant server
default, so SQLite adds them in place (ALTER TABLE ADD COLUMN) instead of copying the tables:
a batch copy of `editions` drops the table every other one references.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

EPOCH = sa.text("'2000-01-01 00:00:00'")


def upgrade() -> None:
    op.add_column(
        "editions", sa.Column("updated_at", sa.DateTime(), server_default=EPOCH, nullable=False)
    )
    op.add_column(
        "booths", sa.Column("updated_at", sa.DateTime(), server_default=EPOCH, nullable=False)
    )
    op.execute("UPDATE editions SET updated_at = COALESCE(published_at, created_at)")
    op.execute("UPDATE booths SET updated_at = COALESCE(decided_at, requested_at)")


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (no table copy).
    op.drop_column("booths", "updated_at")
    op.drop_column("editions", "updated_at")
