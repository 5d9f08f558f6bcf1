"""search window: on PostgreSQL what lets a broad word's page read only its newest matches

A broad word's ranked page (fair.search.pages, fair.search.match.postgresql_bounded) read every
match's row of `search_offers` to tell its tier (12,635 rows for "btp" widened at 100,000
offers), where the page needs a count that stops at the cap and the newest few hundred of the
tiers it reaches. It now reads the matches among the newest offers first (a window of ids),
and again without the window only when those do not settle the page. Two objects help:

- a GIN index on the title's stems (`title_vector`), which counts a title tier's matches
  among every offer, up to what the page needs: a tier with none or few (the titles starting
  with the word, often none) is then settled without reading every match;
- `search_offers_estimate(tsquery)`, the planner's estimate of the rows a tsquery finds in
  `search_offers` (EXPLAIN's, from the statistics: no row read; volatile, as a function running
  EXPLAIN must be), so that only the words likely to find many more than the cap are tried in
  a window, of a size likely to hold it.

SQLite: nothing to do (its best-first page reads the FTS5 index alone).

Revision ID: 0046
Revises: 0045
"""

from __future__ import annotations

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

ESTIMATE = """CREATE FUNCTION search_offers_estimate(words tsquery) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format(
        'EXPLAIN (FORMAT JSON) SELECT 1 FROM search_offers WHERE search_vector @@ %L::tsquery',
        words::text
    ) INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::bigint;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_search_offers_title ON search_offers USING gin (title_vector)")
    op.execute(ESTIMATE)
    op.execute("ANALYZE search_offers")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS search_offers_estimate(tsquery)")
    op.execute("DROP INDEX IF EXISTS ix_search_offers_title")
