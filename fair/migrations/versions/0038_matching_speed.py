"""matching speed (fair.match_offers, fair.match_referential)

`ix_offers_matching` (rome_code, edition_id, published, booth_id, latitude, longitude, remote,
contract, working_time, id) replaces `ix_offers_rome_code` (its first column): "offers for you"
ranks the few thousand offers of the jobs wanted and their families by the columns it holds,
without reading the offers' rows (wide: descriptions) one page each;
`ix_network_offers_matching` does the same for the partners' offers.

`rome_versions`: one row whose token changes with every write to `rome_codes` or `rome_skills`
(triggers: per statement on PostgreSQL, per row on SQLite, which has no other kind), so that a
process holding the referential in memory reads it again only when it changed, whoever wrote it
(`fair rome import`, another process, a test).

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

TABLES = ("rome_codes", "rome_skills")
NETWORK_COLUMNS = [
    "rome_code",
    "edition_id",
    "partner_id",
    "latitude",
    "longitude",
    "remote",
    "contract",
    "working_time",
    "origin_id",
    "id",
]
COLUMNS = [
    "rome_code",
    "edition_id",
    "published",
    "booth_id",
    "latitude",
    "longitude",
    "remote",
    "contract",
    "working_time",
    "id",
]
POSTGRES_BUMP = """
CREATE FUNCTION rome_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rome_versions (id, token) VALUES (1, md5(random()::text || clock_timestamp()::text))
  ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
  RETURN NULL;
END $$
"""
SQLITE_BUMP = (
    "INSERT OR REPLACE INTO rome_versions (id, token) VALUES (1, lower(hex(randomblob(16))))"
)


def upgrade() -> None:
    # Plain index statements, not a batch: a batch may copy the table on SQLite, which would
    # drop its full-text triggers.
    op.drop_index("ix_offers_rome_code", table_name="offers")
    op.create_index("ix_offers_matching", "offers", COLUMNS, unique=False)
    op.create_index("ix_network_offers_matching", "network_offers", NETWORK_COLUMNS, unique=False)
    op.create_table(
        "rome_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_versions")),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table}"
                    f" BEGIN {SQLITE_BUMP}; END"
                )
        return
    op.execute(POSTGRES_BUMP)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION rome_version_bump()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_version_{event}")
    else:
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_version ON {table}")
        op.execute("DROP FUNCTION rome_version_bump()")
    op.drop_table("rome_versions")
    op.drop_index("ix_network_offers_matching", table_name="network_offers")
    op.drop_index("ix_offers_matching", table_name="offers")
    op.create_index("ix_offers_rome_code", "offers", ["rome_code"], unique=False)
