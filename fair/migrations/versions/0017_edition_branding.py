"""edition branding: colours, logo, banner, partners' logos; image variants

An edition's primary colour (with the text colour that reads on it), logo and banner image
(fair.branding) in a table of their own; its partners in order, each with a name, an optional
link and a logo; and the sizes and formats derived from an uploaded image (fair.images), served
in its place.

New tables only: a column referencing stored_files added to editions would need, on SQLite, a
batch copy of editions, whose DROP TABLE (foreign keys on) deletes every row referencing an
edition (live days, booths...); an inline REFERENCES added in place is read back without its
ON DELETE, so the models would no longer match.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _file_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["stored_files.id"],
        name=op.f(f"fk_{table}_{column}_stored_files"),
        ondelete="SET NULL",
    )


def upgrade() -> None:
    op.create_table(
        "edition_brands",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=True),
        sa.Column("text_colour", sa.String(length=7), nullable=True),
        sa.Column("logo_file_id", sa.Integer(), nullable=True),
        sa.Column("banner_file_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_brands_edition_id_editions"),
            ondelete="CASCADE",
        ),
        _file_fk("edition_brands", "logo_file_id"),
        _file_fk("edition_brands", "banner_file_id"),
        sa.PrimaryKeyConstraint("edition_id", name=op.f("pk_edition_brands")),
    )
    for column in ("logo_file_id", "banner_file_id"):
        op.create_index(op.f(f"ix_edition_brands_{column}"), "edition_brands", [column])
    op.create_table(
        "edition_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("logo_file_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_partners_edition_id_editions"),
            ondelete="CASCADE",
        ),
        _file_fk("edition_partners", "logo_file_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edition_partners")),
    )
    op.create_index(op.f("ix_edition_partners_edition_id"), "edition_partners", ["edition_id"])
    op.create_index(op.f("ix_edition_partners_logo_file_id"), "edition_partners", ["logo_file_id"])
    op.create_table(
        "image_variants",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["stored_files.id"],
            name=op.f("fk_image_variants_file_id_stored_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "width", "format", name=op.f("pk_image_variants")),
    )


def downgrade() -> None:
    op.drop_table("image_variants")
    op.drop_index(op.f("ix_edition_partners_logo_file_id"), table_name="edition_partners")
    op.drop_index(op.f("ix_edition_partners_edition_id"), table_name="edition_partners")
    op.drop_table("edition_partners")
    for column in ("banner_file_id", "logo_file_id"):
        op.drop_index(op.f(f"ix_edition_brands_{column}"), table_name="edition_brands")
    op.drop_table("edition_brands")
