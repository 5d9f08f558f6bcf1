"""page views and active candidates

Daily counts of views of the public booth and offer pages, and the days on which each
registered candidate was active in an edition (fair.activity): counts and dates only, no
address, no browser.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_page_views_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_page_views_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_page_views_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_views")),
    )
    op.create_index("ix_page_views_booth_id", "page_views", ["booth_id"])
    op.create_index("ix_page_views_edition_day", "page_views", ["edition_id", "day"])
    no_offer = sa.text("offer_id IS NULL")
    an_offer = sa.text("offer_id IS NOT NULL")
    op.create_index(
        "uq_page_views_booth_day",
        "page_views",
        ["booth_id", "day"],
        unique=True,
        sqlite_where=no_offer,
        postgresql_where=no_offer,
    )
    op.create_index(
        "uq_page_views_offer_day",
        "page_views",
        ["offer_id", "day"],
        unique=True,
        sqlite_where=an_offer,
        postgresql_where=an_offer,
    )
    op.create_table(
        "active_days",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_active_days_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_active_days_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "user_id", "day", name=op.f("pk_active_days")),
    )
    op.create_index("ix_active_days_user_id", "active_days", ["user_id"])


def downgrade() -> None:
    op.drop_table("active_days")
    op.drop_table("page_views")
