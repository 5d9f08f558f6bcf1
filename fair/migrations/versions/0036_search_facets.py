"""reserved: search facets (filled by the change that needs it)

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
