"""title index: on PostgreSQL a GIN index over the title's stems (fair.search.match)

A broad word's search read every match's offer row (6,800 for "chauffeur" at 100,000
offers, 12,600 for "btp" widened: about 2.5 µs each, the offers' rows being wide) to tell
each one's tier and count them, where the page needs only the newest few hundred of the
best tiers and a count that stops at 1,001. The title's tiers (its first two: the query's
own words or a synonym's phrase in the title) are found from this index
(fair.search.match.postgresql_titles); when they hold enough matches for the page and the
count, the other matches are not read. A small index: a title has a few stems. The partners'
offers are ranked without a bound (fair.search.pages): nothing to do for them; SQLite's FTS5
index holds the title's column already.

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_offers_search_title ON offers USING gin (title_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_offers_search_title")
