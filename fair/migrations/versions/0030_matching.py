"""matching (fair.job_search, fair.matching, fair.alerts): the candidate's job search and alerts

`job_search_profiles`: one row per candidate who described their search: the home commune's
INSEE code and coordinates (copied from the profile's commune when saved), the distance and
means of transport, the working time and start wanted, skills. `job_search_targets`: the jobs
wanted as ROME codes (with an appellation's code and label), in the candidate's order.
`job_search_contracts`: the contract types accepted (none: any). `job_alerts`: daily digests of
new matching offers by mail; `job_alert_offers`: the offers already mailed to a candidate, never
mailed twice. New tables only: `candidate_profiles` is not altered.

The profile's free-text "jobs you are looking for" (`wanted_jobs`) becomes target jobs where it
names them: each line or comma-separated part that is a ROME code ("N1101") or a ROME name of
the shipped list (fair/data/rome.json; accents, case and punctuation aside) is a target, in
its order, five at most; the text itself stays, shown as "in your own words".

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

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


# The shipped ROME list, read here rather than through fair.rome: a migration keeps working
# whatever the application's modules become.
ROME = Path(__file__).resolve().parents[2] / "data" / "rome.json"
CODE = re.compile(r"(?<![A-Za-z0-9])([A-Na-n][0-9]{4})(?![0-9])")
MAX_TARGETS = 5


def _key(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def targets_of(text: str, labels: dict[str, str]) -> list[tuple[str, str]]:
    """The (code, label) pairs a free text names, in its order, without repeats."""
    by_name = {_key(label): code for code, label in labels.items()}
    found: dict[str, str] = {}
    for part in re.split(r"[\n,;]+", text):
        named = CODE.search(part)
        code = named.group(1).upper() if named else by_name.get(_key(part), "")
        if code in labels and code not in found:
            found[code] = labels[code]
    return list(found.items())[:MAX_TARGETS]


def _wanted_jobs_to_targets() -> None:
    labels = {row["code"]: row["label"] for row in json.loads(ROME.read_text("utf-8"))["rome"]}
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT user_id, wanted_jobs FROM candidate_profiles WHERE wanted_jobs <> ''")
    ).all()
    insert = sa.text(
        "INSERT INTO job_search_targets (user_id, position, rome_code, appellation_code, label)"
        " VALUES (:user_id, :position, :code, '', :label)"
    )
    for user_id, text in rows:
        for position, (code, label) in enumerate(targets_of(text, labels)):
            connection.execute(
                insert, {"user_id": user_id, "position": position, "code": code, "label": label}
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
    _wanted_jobs_to_targets()


def downgrade() -> None:
    for table in (
        "job_alert_offers",
        "job_alerts",
        "job_search_contracts",
        "job_search_targets",
        "job_search_profiles",
    ):
        op.drop_table(table)
