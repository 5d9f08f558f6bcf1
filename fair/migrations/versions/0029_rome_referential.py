"""the imported ROME 4.0 referential (fair.rome_referential, `fair rome import`)

`rome_codes`: the codes (fiches) with their parent; `rome_appellations`: the official job names
with their normalised stems (the suggestion's index, fair.rome_suggest); `rome_skills`: know-hows
and knowledges with a training link (empty where the data has none); `rome_code_skills`: which
skills a code lists. New tables only: nothing existing is altered.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rome_codes",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("parent", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_rome_codes")),
    )
    op.create_table(
        "rome_appellations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_ogr", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("stems", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["rome_codes.code"],
            name=op.f("fk_rome_appellations_code_rome_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_appellations")),
    )
    with op.batch_alter_table("rome_appellations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rome_appellations_code"), ["code"], unique=False)
    op.create_table(
        "rome_skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_ogr", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("training_url", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rome_skills")),
        sa.UniqueConstraint("code_ogr", name=op.f("uq_rome_skills_code_ogr")),
    )
    op.create_table(
        "rome_code_skills",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("core", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["rome_codes.code"],
            name=op.f("fk_rome_code_skills_code_rome_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["rome_skills.id"],
            name=op.f("fk_rome_code_skills_skill_id_rome_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", "skill_id", name=op.f("pk_rome_code_skills")),
    )
    with op.batch_alter_table("rome_code_skills", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rome_code_skills_skill_id"), ["skill_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("rome_code_skills")
    op.drop_table("rome_skills")
    op.drop_table("rome_appellations")
    op.drop_table("rome_codes")
