"""search commune: on PostgreSQL the offers' full-text vector holds the commune's name, as
SQLite's index has always held it (fair.offers: `search_stems` ends with the commune)

"cariste Lunel" found the Lunel forklift offers on SQLite and nothing on PostgreSQL. The
commune goes with the description's weight (C), beside the other words of `search_stems`.
A generated column's expression cannot be altered: the column and its GIN index are made
again (PostgreSQL computes every row's vector anew). SQLite: nothing to do.

Revision ID: 0042
Revises: 0038
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

VECTOR = """ALTER TABLE offers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('fair_french', title), 'A') ||
    setweight(to_tsvector('fair_french', rome_label || ' ' || skills::text), 'B') ||
    setweight(to_tsvector('fair_french', {c}), 'C')) STORED"""


def _vector(c_weighted: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_offers_search_vector")
    op.execute("ALTER TABLE offers DROP COLUMN IF EXISTS search_vector")
    op.execute(VECTOR.format(c=c_weighted))
    op.execute("CREATE INDEX ix_offers_search_vector ON offers USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _vector("description || ' ' || commune")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _vector("description")
