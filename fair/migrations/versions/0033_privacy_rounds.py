"""privacy rounds: erased accounts' names stored as a language-neutral marker
(fair.personal_data.ERASED_CANDIDATE, ERASED_ACCOUNT) that pages show in the reader's language,
instead of the French words stored until now; `outbox_mails.headers`, the extra headers of a
mail (the one-click stop of alerts and reminders, RFC 8058: fair.stop_links)

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

# The values of fair.personal_data at this revision (a migration does not import the app).
MARKERS = {"Candidat supprimé": "\x1ferased:candidate", "Compte supprimé": "\x1ferased:account"}
ERASED = "id IN (SELECT user_id FROM erased_accounts)"


def _rename(pairs: dict[str, str]) -> None:
    for old, new in pairs.items():
        op.execute(
            sa.text(f"UPDATE users SET name = :new WHERE name = :old AND {ERASED}").bindparams(
                new=new, old=old
            )
        )


def upgrade() -> None:
    _rename(MARKERS)
    with op.batch_alter_table("outbox_mails") as batch:
        batch.add_column(sa.Column("headers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_mails") as batch:
        batch.drop_column("headers")
    _rename({new: old for old, new in MARKERS.items()})
