"""the request id of queued mail and webhook deliveries (issue 17 item 5)

`outbox_mails.request_id` and `webhook_deliveries.request_id`: the id of the request whose
transaction queued the row (fair.logs; empty for rows queued outside any request, by the
worker's own rounds), logged by the worker when it sends, so that one id follows a request from
the web process's log lines into the worker's.

Revision ID: 0041
Revises: 0038 (0039 and 0040 are other branches' at the time of writing: chain after them)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

TABLES = ("outbox_mails", "webhook_deliveries")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("request_id")
