"""counsellors: structures, their members, accompaniments with consent, actions on a
candidate's behalf, applications put forward (fair.structures, fair.counsellors)

Only new tables: `applications` is not altered (its endorsements are a side table).

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "structures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("departement", sa.String(length=3), nullable=False),
        sa.Column("epci", sa.String(length=9), nullable=False),
        sa.Column("communes", sa.JSON(), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_structures_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_structures_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structures")),
    )
    op.create_index(
        op.f("ix_structures_approved_by_id"), "structures", ["approved_by_id"], unique=False
    )
    op.create_index(
        op.f("ix_structures_created_by_id"), "structures", ["created_by_id"], unique=False
    )
    op.create_index(op.f("ix_structures_departement"), "structures", ["departement"], unique=False)
    op.create_index(op.f("ix_structures_kind"), "structures", ["kind"], unique=False)
    op.create_table(
        "structure_editions",
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("admitted_by_id", sa.Integer(), nullable=True),
        sa.Column("admitted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["admitted_by_id"],
            ["users.id"],
            name=op.f("fk_structure_editions_admitted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_structure_editions_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_structure_editions_structure_id_structures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("structure_id", "edition_id", name=op.f("pk_structure_editions")),
    )
    op.create_index(
        op.f("ix_structure_editions_admitted_by_id"),
        "structure_editions",
        ["admitted_by_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_structure_editions_edition_id"), "structure_editions", ["edition_id"], unique=False
    )
    op.create_table(
        "structure_members",
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_structure_members_structure_id_structures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_structure_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("structure_id", "user_id", name=op.f("pk_structure_members")),
    )
    op.create_index(
        op.f("ix_structure_members_user_id"), "structure_members", ["user_id"], unique=False
    )
    op.create_table(
        "accompaniments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=True),
        sa.Column("consent_version", sa.String(length=20), nullable=False),
        sa.Column("consent_via", sa.String(length=20), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_accompaniments_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["users.id"],
            name=op.f("fk_accompaniments_counsellor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"],
            ["users.id"],
            name=op.f("fk_accompaniments_ended_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_accompaniments_structure_id_structures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accompaniments")),
    )
    op.create_index(
        op.f("ix_accompaniments_candidate_id"), "accompaniments", ["candidate_id"], unique=False
    )
    op.create_index(
        op.f("ix_accompaniments_counsellor_id"), "accompaniments", ["counsellor_id"], unique=False
    )
    op.create_index(
        op.f("ix_accompaniments_ended_by_id"), "accompaniments", ["ended_by_id"], unique=False
    )
    op.create_index(
        op.f("ix_accompaniments_structure_id"), "accompaniments", ["structure_id"], unique=False
    )
    op.create_table(
        "counsellor_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accompaniment_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accompaniment_id"],
            ["accompaniments.id"],
            name=op.f("fk_counsellor_actions_accompaniment_id_accompaniments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_counsellor_actions_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["users.id"],
            name=op.f("fk_counsellor_actions_counsellor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counsellor_actions")),
    )
    op.create_index(
        op.f("ix_counsellor_actions_accompaniment_id"),
        "counsellor_actions",
        ["accompaniment_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_counsellor_actions_candidate_id"),
        "counsellor_actions",
        ["candidate_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_counsellor_actions_counsellor_id"),
        "counsellor_actions",
        ["counsellor_id"],
        unique=False,
    )
    op.create_table(
        "application_endorsements",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("structure_id", sa.Integer(), nullable=False),
        sa.Column("counsellor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_endorsements_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"],
            ["users.id"],
            name=op.f("fk_application_endorsements_counsellor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["structure_id"],
            ["structures.id"],
            name=op.f("fk_application_endorsements_structure_id_structures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_endorsements")),
    )
    op.create_index(
        op.f("ix_application_endorsements_counsellor_id"),
        "application_endorsements",
        ["counsellor_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_application_endorsements_structure_id"),
        "application_endorsements",
        ["structure_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("application_endorsements")
    op.drop_table("counsellor_actions")
    op.drop_table("accompaniments")
    op.drop_table("structure_members")
    op.drop_table("structure_editions")
    op.drop_table("structures")
