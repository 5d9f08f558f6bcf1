"""recruiters' public profile (H5, issue 13): an optional job title and photo per recruiter

One row per recruiter who saved their profile (fair.recruiter_profiles); the photo is a stored
file of kind "photo", shown on the booth pages they staff.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recruiter_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("job_title", sa.String(120), nullable=False),
        sa.Column("photo_file_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recruiter_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["photo_file_id"],
            ["stored_files.id"],
            name=op.f("fk_recruiter_profiles_photo_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_recruiter_profiles")),
    )
    op.create_index("ix_recruiter_profiles_photo_file_id", "recruiter_profiles", ["photo_file_id"])


def downgrade() -> None:
    op.drop_index("ix_recruiter_profiles_photo_file_id", table_name="recruiter_profiles")
    op.drop_table("recruiter_profiles")
