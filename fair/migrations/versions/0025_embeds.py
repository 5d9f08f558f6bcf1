"""the sites allowed to frame an edition's embeddable widget (fair.embeds)

`embed_origins`: one row per edition and origin ("https://host[:port]"), a table of its own
so that `editions` is not copied by a batch ALTER (on SQLite that copy cascades deletes).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embed_origins",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_embed_origins_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "origin", name=op.f("pk_embed_origins")),
    )


def downgrade() -> None:
    op.drop_table("embed_origins")
