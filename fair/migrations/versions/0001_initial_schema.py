"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:51:18.548348
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_addr", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mails")),
    )
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_mails_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_mails_to_addr"), ["to_addr"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("locale", sa.String(length=5), nullable=False),
        sa.Column("auth_version", sa.String(length=32), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("territory", sa.String(length=200), nullable=False),
        sa.Column("partners", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("applications_open_at", sa.DateTime(), nullable=False),
        sa.Column("applications_close_at", sa.DateTime(), nullable=False),
        sa.Column("response_deadline", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_editions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_editions")),
        sa.UniqueConstraint("slug", name=op.f("uq_editions_slug")),
    )
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_editions_created_by_id"), ["created_by_id"], unique=False
        )

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_user_id"), ["user_id"], unique=False)

    op.create_table(
        "priority_declarations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("consented_at", sa.DateTime(), nullable=False),
        sa.Column("senior", sa.Boolean(), nullable=False),
        sa.Column("under_26", sa.Boolean(), nullable=False),
        sa.Column("disabled_worker", sa.Boolean(), nullable=False),
        sa.Column("priority_neighbourhood", sa.Boolean(), nullable=False),
        sa.Column("rural_area", sa.Boolean(), nullable=False),
        sa.Column("low_qualified", sa.Boolean(), nullable=False),
        sa.Column("long_term_unemployed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_priority_declarations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_priority_declarations")),
    )
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_stored_files_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
    )
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stored_files_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "candidate_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=False),
        sa.Column("commune", sa.String(length=120), nullable=False),
        sa.Column("wanted_jobs", sa.Text(), nullable=False),
        sa.Column("cv_file_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cv_file_id"],
            ["stored_files.id"],
            name=op.f("fk_candidate_profiles_cv_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_candidate_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_candidate_profiles")),
    )
    with op.batch_alter_table("candidate_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_candidate_profiles_cv_file_id"), ["cv_file_id"], unique=False
        )

    op.create_table(
        "edition_organisers",
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_edition_organisers_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_edition_organisers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("edition_id", "user_id", name=op.f("pk_edition_organisers")),
    )
    with op.batch_alter_table("edition_organisers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_edition_organisers_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "employers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("naf_code", sa.String(length=6), nullable=False),
        sa.Column("sector", sa.String(length=200), nullable=False),
        sa.Column("size", sa.String(length=20), nullable=False),
        sa.Column("commune", sa.String(length=120), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("video_url", sa.String(length=300), nullable=False),
        sa.Column("logo_file_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_employers_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["logo_file_id"],
            ["stored_files.id"],
            name=op.f("fk_employers_logo_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
        sa.UniqueConstraint("siret", name=op.f("uq_employers_siret")),
    )
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employers_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_employers_logo_file_id"), ["logo_file_id"], unique=False
        )

    op.create_table(
        "live_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_live_days_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_days")),
        sa.UniqueConstraint("edition_id", "day", name=op.f("uq_live_days_edition_id")),
    )
    with op.batch_alter_table("live_days", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_days_edition_id"), ["edition_id"], unique=False)

    op.create_table(
        "booths",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_booths_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_booths_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_booths_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booths")),
        sa.UniqueConstraint("edition_id", "employer_id", name=op.f("uq_booths_edition_id")),
    )
    with op.batch_alter_table("booths", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booths_decided_by_id"), ["decided_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booths_edition_id"), ["edition_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booths_employer_id"), ["employer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booths_status"), ["status"], unique=False)

    op.create_table(
        "employer_members",
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_employer_members_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_employer_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("employer_id", "user_id", name=op.f("pk_employer_members")),
    )
    with op.batch_alter_table("employer_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_employer_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id"],
            ["employers.id"],
            name=op.f("fk_invitations_employer_id_employers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitations_employer_id"), ["employer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invitations_invited_by_id"), ["invited_by_id"], unique=False
        )

    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.Column("rome_label", sa.String(length=200), nullable=False),
        sa.Column("rome_domain", sa.String(length=1), nullable=False),
        sa.Column("contract", sa.String(length=20), nullable=False),
        sa.Column("working_time", sa.String(length=20), nullable=False),
        sa.Column("commune", sa.String(length=120), nullable=False),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("remote", sa.Boolean(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("salary", sa.String(length=200), nullable=False),
        sa.Column("experience", sa.String(length=20), nullable=False),
        sa.Column("qualification", sa.String(length=200), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("insertion_clause", sa.Boolean(), nullable=False),
        sa.Column("open_seniors", sa.Boolean(), nullable=False),
        sa.Column("open_under26", sa.Boolean(), nullable=False),
        sa.Column("open_disabled", sa.Boolean(), nullable=False),
        sa.Column("no_diploma", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("title_stems", sa.Text(), nullable=False),
        sa.Column("search_stems", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booth_id"], ["booths.id"], name=op.f("fk_offers_booth_id_booths"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_offers_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index(
            "ix_offers_edition_contract", ["edition_id", "contract"], unique=False
        )
        batch_op.create_index(
            "ix_offers_edition_domain_contract",
            ["edition_id", "rome_domain", "contract"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_offers_edition_id"), ["edition_id"], unique=False)
        batch_op.create_index(
            "ix_offers_edition_latlon", ["edition_id", "latitude", "longitude"], unique=False
        )
        batch_op.create_index(
            "ix_offers_edition_published", ["edition_id", "published", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offers_rome_code"), ["rome_code"], unique=False)

    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("booth_id", sa.Integer(), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cv_file_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booth_id"],
            ["booths.id"],
            name=op.f("fk_applications_booth_id_booths"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["users.id"],
            name=op.f("fk_applications_candidate_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cv_file_id"],
            ["stored_files.id"],
            name=op.f("fk_applications_cv_file_id_stored_files"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["edition_id"],
            ["editions.id"],
            name=op.f("fk_applications_edition_id_editions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_applications_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("offer_id", "candidate_id", name=op.f("uq_applications_offer_id")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applications_booth_id"), ["booth_id"], unique=False)
        batch_op.create_index("ix_applications_booth_status", ["booth_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_applications_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_cv_file_id"), ["cv_file_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_edition_id"), ["edition_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_applications_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=30), nullable=False),
        sa.Column("to_status", sa.String(length=30), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_events_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_application_events_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_events")),
    )
    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_events_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_application_events_by_user_id"), ["by_user_id"], unique=False
        )

    create_offer_search()


def downgrade() -> None:
    drop_offer_search()
    with op.batch_alter_table("application_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_events_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_application_events_application_id"))

    op.drop_table("application_events")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_offer_id"))
        batch_op.drop_index(batch_op.f("ix_applications_edition_id"))
        batch_op.drop_index(batch_op.f("ix_applications_cv_file_id"))
        batch_op.drop_index(batch_op.f("ix_applications_candidate_id"))
        batch_op.drop_index("ix_applications_booth_status")
        batch_op.drop_index(batch_op.f("ix_applications_booth_id"))

    op.drop_table("applications")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index("ix_offers_edition_domain_contract")
        batch_op.drop_index(batch_op.f("ix_offers_rome_code"))
        batch_op.drop_index("ix_offers_edition_published")
        batch_op.drop_index("ix_offers_edition_latlon")
        batch_op.drop_index(batch_op.f("ix_offers_edition_id"))
        batch_op.drop_index("ix_offers_edition_contract")
        batch_op.drop_index(batch_op.f("ix_offers_booth_id"))

    op.drop_table("offers")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitations_invited_by_id"))
        batch_op.drop_index(batch_op.f("ix_invitations_employer_id"))

    op.drop_table("invitations")
    with op.batch_alter_table("employer_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employer_members_user_id"))

    op.drop_table("employer_members")
    with op.batch_alter_table("booths", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booths_status"))
        batch_op.drop_index(batch_op.f("ix_booths_employer_id"))
        batch_op.drop_index(batch_op.f("ix_booths_edition_id"))
        batch_op.drop_index(batch_op.f("ix_booths_decided_by_id"))

    op.drop_table("booths")
    with op.batch_alter_table("live_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_days_edition_id"))

    op.drop_table("live_days")
    with op.batch_alter_table("employers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employers_logo_file_id"))
        batch_op.drop_index(batch_op.f("ix_employers_created_by_id"))

    op.drop_table("employers")
    with op.batch_alter_table("edition_organisers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edition_organisers_user_id"))

    op.drop_table("edition_organisers")
    with op.batch_alter_table("candidate_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_profiles_cv_file_id"))

    op.drop_table("candidate_profiles")
    with op.batch_alter_table("stored_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_files_owner_id"))

    op.drop_table("stored_files")
    op.drop_table("priority_declarations")
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_user_id"))

    op.drop_table("password_resets")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_user_id"))

    op.drop_table("notices")
    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_editions_created_by_id"))

    op.drop_table("editions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_role"))

    op.drop_table("users")
    with op.batch_alter_table("outbox_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_mails_to_addr"))
        batch_op.drop_index(batch_op.f("ix_outbox_mails_created_at"))

    op.drop_table("outbox_mails")


SQLITE_SEARCH = [
    # External-content FTS5 index over the Python-computed stems (see fair.search.stems).
    """CREATE VIRTUAL TABLE offers_fts USING fts5(
        title_stems, search_stems, content='offers', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER offers_fts_ai AFTER INSERT ON offers BEGIN
        INSERT INTO offers_fts(rowid, title_stems, search_stems)
        VALUES (new.id, new.title_stems, new.search_stems); END""",
    """CREATE TRIGGER offers_fts_ad AFTER DELETE ON offers BEGIN
        INSERT INTO offers_fts(offers_fts, rowid, title_stems, search_stems)
        VALUES ('delete', old.id, old.title_stems, old.search_stems); END""",
    """CREATE TRIGGER offers_fts_au AFTER UPDATE OF title_stems, search_stems ON offers BEGIN
        INSERT INTO offers_fts(offers_fts, rowid, title_stems, search_stems)
        VALUES ('delete', old.id, old.title_stems, old.search_stems);
        INSERT INTO offers_fts(rowid, title_stems, search_stems)
        VALUES (new.id, new.title_stems, new.search_stems); END""",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # French stemming after accent removal: "electriciens" and "Électricien" share a lexeme.
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'fair_french') THEN
            CREATE TEXT SEARCH CONFIGURATION fair_french (COPY = pg_catalog.french);
            ALTER TEXT SEARCH CONFIGURATION fair_french
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF; END $$""",
    """ALTER TABLE offers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('fair_french', title), 'A') ||
        setweight(to_tsvector('fair_french', rome_label || ' ' || skills::text), 'B') ||
        setweight(to_tsvector('fair_french', description), 'C')) STORED""",
    "CREATE INDEX ix_offers_search_vector ON offers USING gin (search_vector)",
]


def create_offer_search() -> None:
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def drop_offer_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("offers_fts_ai", "offers_fts_ad", "offers_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS offers_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_offers_search_vector")
        op.execute("ALTER TABLE offers DROP COLUMN IF EXISTS search_vector")
