"""search title vector: on PostgreSQL, the offers' title and ROME label as their own small
weighted tsvector (GIN-indexed), so that a search ranks the offers whose title holds its words
from that vector alone (fair.search.best), not every match's whole text

At 100,000 offers a broad or widened word matched ~12,600 offers, and ts_rank over each one's
whole vector (its description) was most of the page's cost. The partners' offers
(network_offers) get the same column (their title), so that their ranking stays comparable
with the edition's own in one page. SQLite: nothing to do (its FTS5 index ranks the best
matches first already).

Revision ID: 0044
Revises: 0043
"""

from __future__ import annotations

from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None

UPGRADE = [
    """ALTER TABLE offers ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('fair_french', title), 'A') ||
        setweight(to_tsvector('fair_french', rome_label), 'B')) STORED""",
    "CREATE INDEX ix_offers_title_vector ON offers USING gin (title_vector)",
    """ALTER TABLE network_offers ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('fair_french', title), 'A')) STORED""",
    "CREATE INDEX ix_network_offers_title_vector ON network_offers USING gin (title_vector)",
]
DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_network_offers_title_vector",
    "ALTER TABLE network_offers DROP COLUMN IF EXISTS title_vector",
    "DROP INDEX IF EXISTS ix_offers_title_vector",
    "ALTER TABLE offers DROP COLUMN IF EXISTS title_vector",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
