"""search speed: indexes covering what the offer search reads of the offers its filters select

The search's filters (a job domain, a contract) select offers through an index, then check
that each is published in an approved booth and within the radius, and sort the page by date:
with those columns in the index, the offers' rows (a description and its stems each) are not
read at all (an index-only scan on PostgreSQL once autovacuum has marked the pages, a covering
index on SQLite). At 100,000 offers, "CDI, construction, within 20 km of Montpellier" read
4,000 rows to keep 20. The narrower indexes stay: with words, SQLite probes them for each
full-text match (edition, domain, contract and rowid), which a wider index cannot serve.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

# What the search reads of each offer it filters (fair.search._matching and _filters).
COVERED = ("published", "booth_id", "latitude", "longitude", "created_at", "id")
INDEXES = {
    "ix_offers_search_domain_contract": ("edition_id", "rome_domain", "contract"),
    "ix_offers_search_contract": ("edition_id", "contract"),
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "offers", [*columns, *COVERED])


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="offers")
