"""matching (fair.job_search, fair.matching, fair.alerts): the candidate's job search and alerts

`job_search_profiles`: one row per candidate who described their search: the home commune's
INSEE code and coordinates (copied from the profile's commune when saved), the distance and
means of transport, the working time and start wanted, skills. `job_search_targets`: the jobs
wanted as ROME codes (with an appellation's code and label), in the candidate's order.
`job_search_contracts`: the contract types accepted (none: any). `job_alerts`: daily digests of
new matching offers by mail; `job_alert_offers`: the offers already mailed to a candidate, never
mailed twice. New tables only: `candidate_profiles` is not altered.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "job_search_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("max_distance_km", sa.Integer(), nullable=True),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("working_time", sa.String(length=20), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("skill_codes", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _user_fk("job_search_profiles"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_job_search_profiles")),
    )
    op.create_index(
        "ix_job_search_profiles_latlon", "job_search_profiles", ["latitude", "longitude"]
    )
    op.create_table(
        "job_search_targets",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.Column("appellation_code", sa.String(length=10), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        _user_fk("job_search_targets"),
        sa.PrimaryKeyConstraint("user_id", "position", name=op.f("pk_job_search_targets")),
    )
    op.create_index("ix_job_search_targets_rome", "job_search_targets", ["rome_code", "user_id"])
    op.create_table(
        "job_search_contracts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(length=20), nullable=False),
        _user_fk("job_search_contracts"),
        sa.PrimaryKeyConstraint("user_id", "contract", name=op.f("pk_job_search_contracts")),
    )
    op.create_index(
        "ix_job_search_contracts_contract", "job_search_contracts", ["contract", "user_id"]
    )
    op.create_table(
        "job_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("search", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_until", sa.DateTime(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        _user_fk("job_alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_alerts")),
    )
    op.create_index(op.f("ix_job_alerts_user_id"), "job_alerts", ["user_id"])
    op.create_index("ix_job_alerts_due", "job_alerts", ["stopped_at", "next_run_at"])
    op.create_table(
        "job_alert_offers",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        _user_fk("job_alert_offers"),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_job_alert_offers_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "offer_id", name=op.f("pk_job_alert_offers")),
    )
    op.create_index(op.f("ix_job_alert_offers_offer_id"), "job_alert_offers", ["offer_id"])


def downgrade() -> None:
    for table in (
        "job_alert_offers",
        "job_alerts",
        "job_search_contracts",
        "job_search_targets",
        "job_search_profiles",
    ):
        op.drop_table(table)
