"""chat: booth Q&A, mutes, reports, removable conversation messages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:27:33.182732
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("muted_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_chat_mutes_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"],
            ["users.id"],
            name=op.f("fk_chat_mutes_lifted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["muted_by_id"],
            ["users.id"],
            name=op.f("fk_chat_mutes_muted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_chat_mutes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_mutes")),
    )
    with op.batch_alter_table("chat_mutes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_mutes_edition_id"), ["edition_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chat_mutes_lifted_by_id"), ["lifted_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_mutes_muted_by_id"), ["muted_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_chat_mutes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "qa_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_qa_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_qa_messages_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"],
            ["users.id"],
            name=op.f("fk_qa_messages_deleted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_qa_messages_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["qa_messages.id"],
            name=op.f("fk_qa_messages_question_id_qa_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_messages")),
    )
    with op.batch_alter_table("qa_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qa_messages_author_created", ["author_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qa_messages_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_messages_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index(
            "ix_qa_messages_booth_question_created",
            ["booth_id", "question_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_qa_messages_deleted_by_id"), ["deleted_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qa_messages_edition_id"), ["edition_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_qa_messages_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "chat_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("qa_message_id", sa.Integer(), nullable=True),
        sa.Column("conversation_message_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_chat_reports_conversation_message_id_conversation_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_chat_reports_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["qa_message_id"],
            ["qa_messages.id"],
            name=op.f("fk_chat_reports_qa_message_id_qa_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_chat_reports_reporter_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_chat_reports_resolved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_reports")),
        sa.UniqueConstraint(
            "conversation_message_id",
            "reporter_id",
            name=op.f("uq_chat_reports_conversation_message_id"),
        ),
        sa.UniqueConstraint(
            "qa_message_id", "reporter_id", name=op.f("uq_chat_reports_qa_message_id")
        ),
    )
    with op.batch_alter_table("chat_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_reports_edition_id"), ["edition_id"], unique=False
        )
        batch_op.create_index(
            "ix_chat_reports_edition_resolved", ["edition_id", "resolved_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_reports_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_chat_reports_resolved_by_id"), ["resolved_by_id"], unique=False
        )

    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversation_messages_deleted_by_id"), ["deleted_by_id"], unique=False
        )
        batch_op.create_index(
            "ix_conversation_messages_sender_created", ["sender_id", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_conversation_messages_deleted_by_id_users"),
            "users",
            ["deleted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_conversation_messages_deleted_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index("ix_conversation_messages_sender_created")
        batch_op.drop_index(batch_op.f("ix_conversation_messages_deleted_by_id"))
        batch_op.drop_column("deleted_by_id")
        batch_op.drop_column("deleted_at")

    with op.batch_alter_table("chat_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_reports_resolved_by_id"))
        batch_op.drop_index(batch_op.f("ix_chat_reports_reporter_id"))
        batch_op.drop_index("ix_chat_reports_edition_resolved")
        batch_op.drop_index(batch_op.f("ix_chat_reports_edition_id"))

    op.drop_table("chat_reports")
    with op.batch_alter_table("qa_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_messages_question_id"))
        batch_op.drop_index(batch_op.f("ix_qa_messages_edition_id"))
        batch_op.drop_index(batch_op.f("ix_qa_messages_deleted_by_id"))
        batch_op.drop_index("ix_qa_messages_booth_question_created")
        batch_op.drop_index(batch_op.f("ix_qa_messages_booth_id"))
        batch_op.drop_index(batch_op.f("ix_qa_messages_author_id"))
        batch_op.drop_index("ix_qa_messages_author_created")

    op.drop_table("qa_messages")
    with op.batch_alter_table("chat_mutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_mutes_user_id"))
        batch_op.drop_index(batch_op.f("ix_chat_mutes_muted_by_id"))
        batch_op.drop_index(batch_op.f("ix_chat_mutes_lifted_by_id"))
        batch_op.drop_index(batch_op.f("ix_chat_mutes_edition_id"))

    op.drop_table("chat_mutes")
