"""offer start: the day a position is to be filled (fair.matching's availability reason)

`offers.starts_on` and `network_offers.starts_on`, a date or null ("as soon as possible", what
every existing offer means). Nullable without a default, so SQLite adds them in place (ALTER
TABLE ADD COLUMN) instead of copying the tables (a batch copy of `offers` would drop its
full-text triggers).

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

TABLES = ("offers", "network_offers")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("starts_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (no table copy).
    for table in TABLES:
        op.drop_column(table, "starts_on")
