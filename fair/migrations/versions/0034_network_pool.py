"""the CV pool across the network: contact requests between instances, and a per-edition
switch of the network's offers (fair.network_pool, fair.network.shows_network)

`network_contacts_in` (at the profile's instance): a contact request that came from a partner,
with the partner's key, organisation and its own id for it. `network_contacts` (at the
requester's instance): a request sent to a partner's profile, its status and, once accepted,
the contact details. `network_partners.contact_cursor`: where the pull of their answers
resumes. `editions.network_offers`: whether the edition's search shows the partners' offers
(on for every existing edition, as before). Columns are added without copying the tables.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("network_offers", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("network_partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact_cursor", sa.String(length=300), nullable=False, server_default="")
        )
    op.create_table(
        "network_contacts_in",
        sa.Column("contact_request_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("organisation_key", sa.String(length=40), nullable=False),
        sa.Column("requester", sa.String(length=120), nullable=False),
        sa.Column("reference", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_network_contacts_in_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_request_id"],
            ["contact_requests.id"],
            name=op.f("fk_network_contacts_in_contact_request_id_contact_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_request_id", name=op.f("pk_network_contacts_in")),
        sa.UniqueConstraint(
            "api_key_id", "reference", name=op.f("uq_network_contacts_in_api_key_id")
        ),
    )
    op.create_index(
        op.f("ix_network_contacts_in_api_key_id"), "network_contacts_in", ["api_key_id"]
    )
    op.create_index(
        "ix_network_contacts_in_key_org",
        "network_contacts_in",
        ["api_key_id", "organisation_key"],
    )
    op.create_table(
        "network_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("organisation_key", sa.String(length=40), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["network_partners.id"],
            name=op.f("fk_network_contacts_partner_id_network_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["users.id"],
            name=op.f("fk_network_contacts_requester_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_contacts")),
    )
    op.create_index(op.f("ix_network_contacts_partner_id"), "network_contacts", ["partner_id"])
    op.create_index(op.f("ix_network_contacts_requester_id"), "network_contacts", ["requester_id"])
    op.create_index(
        op.f("ix_network_contacts_organisation_key"), "network_contacts", ["organisation_key"]
    )
    op.create_index(
        "ix_network_contacts_partner_remote", "network_contacts", ["partner_id", "remote_id"]
    )


def downgrade() -> None:
    op.drop_table("network_contacts")
    op.drop_table("network_contacts_in")
    with op.batch_alter_table("network_partners", schema=None) as batch_op:
        batch_op.drop_column("contact_cursor")
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("network_offers")
