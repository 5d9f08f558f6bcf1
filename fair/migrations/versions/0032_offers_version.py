"""the offers version: a counter per edition raised by every change of its offers and booths
(fair.offers_version), the cheap part of the API's ETags

`offers_versions`: one row per edition, a table of its own so that raising it never copies
`editions` (on SQLite a batch ALTER copies the table, and that copy cascades deletes). Every
existing edition starts a series at 1.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offers_versions",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_offers_versions_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_offers_versions")),
    )
    # Stored as naive UTC, as fair.models.UTCDateTime stores every moment.
    now = datetime.now(UTC).replace(tzinfo=None)
    op.execute(
        sa.text(
            "INSERT INTO offers_versions (edition_id, version, started_at) "
            "SELECT id, 1, :now FROM editions"
        ).bindparams(sa.bindparam("now", now, type_=sa.DateTime()))
    )


def downgrade() -> None:
    op.drop_table("offers_versions")
