"""network contacts' ids never reused (fair.network_pool)

A `network_contacts` row's id is the reference the partner keeps for the request. SQLite gives
a new row the highest rowid + 1, so the id of a deleted last row came back for the next request,
and a partner that had kept the first answered the second with it (another candidate's contact
details). The table is rebuilt AUTOINCREMENT on SQLite (sqlite_sequence starts past the rows
copied); PostgreSQL's sequences never give an id twice: nothing to do there.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "network_contacts", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
