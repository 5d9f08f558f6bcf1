"""personal data rights: downloads of one's data, and erased accounts (fair.personal_data)

`data_exports`: one row per download of all of someone's data (rate limited, listed to them).
`erased_accounts`: accounts their owner deleted; the users row stays, anonymised, so that the
organisers' figures stay right. New tables: `users` is not copied by a batch ALTER.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_data_exports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_exports")),
    )
    op.create_index("ix_data_exports_user_at", "data_exports", ["user_id", "created_at"])
    op.create_table(
        "erased_accounts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_erased_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_erased_accounts")),
    )


def downgrade() -> None:
    op.drop_table("erased_accounts")
    op.drop_index("ix_data_exports_user_at", table_name="data_exports")
    op.drop_table("data_exports")
