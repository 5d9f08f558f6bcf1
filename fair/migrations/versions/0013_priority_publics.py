"""priority publics: answers that may be left unsaid, RSA, qualification level, birth year

Each yes/no answer may now be None ("prefer not to say"); an unticked box of the old form said
nothing, so it becomes None, a ticked one stays True. RSA, the qualification level (French
levels 3 to 8, or none) and the birth year (for the age bands) join. The old self-declared
"50 or over", "under 26" and "low qualification" ticks go: they cannot become a birth year or a
level, so those questions are asked anew (downgrading derives them back from the new answers).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ANSWERS = ("priority_neighbourhood", "rural_area", "disabled_worker", "long_term_unemployed")
DROPPED = ("senior", "under_26", "low_qualified")
TABLE = "priority_declarations"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name in ANSWERS:
            batch_op.alter_column(name, existing_type=sa.Boolean(), nullable=True)
        batch_op.add_column(sa.Column("rsa_beneficiary", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("qualification", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("birth_year", sa.Integer(), nullable=True))
    table = sa.table(TABLE, *(sa.column(name, sa.Boolean()) for name in ANSWERS))
    for name in ANSWERS:
        column = table.c[name]
        op.execute(table.update().where(column == sa.false()).values({name: None}))
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name in DROPPED:
            batch_op.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name in DROPPED:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
    year = datetime.now(UTC).year
    table = sa.table(
        TABLE,
        *(sa.column(name, sa.Boolean()) for name in (*ANSWERS, *DROPPED)),
        sa.column("qualification", sa.String()),
        sa.column("birth_year", sa.Integer()),
    )
    c = table.c
    op.execute(table.update().where(c.birth_year <= year - 50).values(senior=True))
    op.execute(table.update().where(c.birth_year > year - 26).values(under_26=True))
    op.execute(table.update().where(c.qualification.in_(("none", "3"))).values(low_qualified=True))
    for name in ANSWERS:
        op.execute(table.update().where(c[name].is_(None)).values({name: False}))
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        for name in DROPPED:
            batch_op.alter_column(name, existing_type=sa.Boolean(), server_default=None)
        for name in ANSWERS:
            batch_op.alter_column(name, existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_column("birth_year")
        batch_op.drop_column("qualification")
        batch_op.drop_column("rsa_beneficiary")
