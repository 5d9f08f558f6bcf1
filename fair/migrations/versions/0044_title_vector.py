"""title vector: on PostgreSQL the title's stems as a tsvector of their own (fair.search.match)

The search ranks a match by where its words are: its title first (fair.search.match's tiers).
PostgreSQL told those tiers by LIKEs on `title_stems` (each stem of each synonym's group as a
word's start: about twenty per match for "chauffeur"), for every match of a broad word (6,800
at 100,000 offers): a fifth of the search's main statement. A tsvector of the same stems under
the `simple` configuration (no stemming again, no stop words: its lexemes are exactly the
stems, checked on the 100,000 generated offers) answers a tier in one `@@`, prefixes and whole
words alike. Generated, stored (a short vector beside the row), not indexed: it is read only
for the rows the full-text index found. The partners' offers likewise. SQLite: nothing to do
(its FTS5 index holds the title's column already).

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

TABLES = ("offers", "network_offers")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN title_vector tsvector GENERATED ALWAYS AS"
            " (to_tsvector('simple', coalesce(title_stems, ''))) STORED"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS title_vector")
