"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import triage_service.models.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column(
            "action", sa.Enum("C", "R", "U", "D", "E", name="auditaction", native_enum=False), nullable=False
        ),
        sa.Column("outcome", sa.Enum("0", "4", "8", name="auditoutcome", native_enum=False), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("resource_type", sa.String(length=40), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("patient_ref", sa.String(length=36), nullable=True),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index("ix_audit_entries_patient", ["patient_ref"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "ZORGGROEP",
                "GP_PRACTICE",
                "SPECIALIST_ORGANISATION",
                "INSURER",
                name="organisationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agb", sa.String(length=8), nullable=True),
        sa.Column("uzovi", sa.String(length=4), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("agb", name=op.f("uq_organisations_agb")),
        sa.UniqueConstraint("uzovi", name=op.f("uq_organisations_uzovi")),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zorggroep_id", sa.String(length=36), nullable=False),
        sa.Column("subcontractor_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("insurers", sa.JSON(), nullable=False),
        sa.Column("consult_forms", sa.JSON(), nullable=False),
        sa.Column("answer_norms", sa.JSON(), nullable=False),
        sa.Column("s3_prestatie_code", sa.String(length=32), nullable=False),
        sa.Column("s3_tariff_cents", sa.Integer(), nullable=False),
        sa.Column("subcontractor_fee_cents", sa.Integer(), nullable=False),
        sa.Column("group_queue", sa.Boolean(), nullable=False),
        sa.Column("specialist_agbs", sa.JSON(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.Column("imported_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subcontractor_id"],
            ["organisations.id"],
            name=op.f("fk_agreements_subcontractor_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["zorggroep_id"], ["organisations.id"], name=op.f("fk_agreements_zorggroep_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("code", "valid_from", name=op.f("uq_agreements_code")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_code"), ["code"], unique=False)

    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_clients_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_clients_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "practitioners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agb", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("GP", "SPECIALIST", name="practitionerrolekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("specialism", sa.String(length=64), nullable=True),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_practitioners_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("agb", name=op.f("uq_practitioners_agb")),
    )
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_practitioners_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "stored_resources",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("identifier_token", sa.String(length=300), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_stored_resources_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_resources")),
    )
    with op.batch_alter_table("stored_resources", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stored_resources_identity",
            ["organisation_id", "resource_type", "identifier_token"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_stored_resources_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_pk", sa.String(length=36), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("expires_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["api_clients.id"], name=op.f("fk_access_tokens_client_pk_api_clients")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_access_tokens")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_tokens_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_tokens_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "consults",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("client_pk", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "completed", "revoked", name="requeststatus", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("consult_form", sa.String(length=40), nullable=False),
        sa.Column("specialism", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("authored_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("gp_intent", sa.String(length=32), nullable=True),
        sa.Column("conversion_authorised", sa.Boolean(), nullable=True),
        sa.Column("icpc_codes", sa.JSON(), nullable=False),
        sa.Column("patient_resource_id", sa.String(length=36), nullable=True),
        sa.Column("patient_birth_date", sa.Date(), nullable=False),
        sa.Column("patient_gender", sa.String(length=16), nullable=False),
        sa.Column("patient_postcode", sa.String(length=16), nullable=True),
        sa.Column("insurer_uzovi", sa.String(length=4), nullable=False),
        sa.Column("requester_agb", sa.String(length=8), nullable=False),
        sa.Column("photo_count", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["api_clients.id"], name=op.f("fk_consults_client_pk_api_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_consults_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["patient_resource_id"],
            ["stored_resources.id"],
            name=op.f("fk_consults_patient_resource_id_stored_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consults")),
    )
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.create_index("ix_consults_org_status", ["organisation_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consults_patient_resource_id"), ["patient_resource_id"], unique=False
        )

    op.create_table(
        "patient_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agreement_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("specialism", sa.String(length=64), nullable=False),
        sa.Column("icpc", sa.JSON(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("postcode_ranges", sa.JSON(), nullable=False),
        sa.Column("consult_forms", sa.JSON(), nullable=False),
        sa.Column("min_photos", sa.Integer(), nullable=False),
        sa.Column("physical_contact_required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_patient_profiles_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_profiles")),
    )
    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_profiles_agreement_id"), ["agreement_id"], unique=False)

    op.create_table(
        "used_assertions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_pk", sa.String(length=36), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["api_clients.id"], name=op.f("fk_used_assertions_client_pk_api_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_assertions")),
        sa.UniqueConstraint("client_pk", "jti", name=op.f("uq_used_assertions_client_pk")),
    )
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_assertions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("SPECIALIST", "ZORGGROEP_STAFF", "ADMIN", name="userrole", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=False),
        sa.Column("practitioner_id", sa.String(length=36), nullable=True),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_users_organisation_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_users_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "consult_identifiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["consult_id"],
            ["consults.id"],
            name=op.f("fk_consult_identifiers_consult_id_consults"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consult_identifiers_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_identifiers")),
        sa.UniqueConstraint(
            "organisation_id", "system", "value", name=op.f("uq_consult_identifiers_organisation_id")
        ),
    )
    with op.batch_alter_table("consult_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consult_identifiers_consult_id"), ["consult_id"], unique=False)

    op.create_table(
        "consult_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consult_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "requested",
                "received",
                "accepted",
                "rejected",
                "ready",
                "cancelled",
                "in-progress",
                "on-hold",
                "failed",
                "completed",
                "entered-in-error",
                name="taskstatus",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("business_status", sa.String(length=40), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("owner_reference", sa.String(length=200), nullable=True),
        sa.Column("due_at", triage_service.models.base.UTCDateTime(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("created_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", triage_service.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consult_id"], ["consults.id"], name=op.f("fk_consult_tasks_consult_id_consults")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_consult_tasks_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consult_tasks")),
        sa.UniqueConstraint("consult_id", name=op.f("uq_consult_tasks_consult_id")),
    )
    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_consult_tasks_org_status", ["organisation_id", "status"], unique=False)
        batch_op.create_index("ix_consult_tasks_org_updated", ["organisation_id", "updated_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consult_tasks_owner_reference"), ["owner_reference"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("consult_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_tasks_owner_reference"))
        batch_op.drop_index("ix_consult_tasks_org_updated")
        batch_op.drop_index("ix_consult_tasks_org_status")

    op.drop_table("consult_tasks")
    with op.batch_alter_table("consult_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consult_identifiers_consult_id"))

    op.drop_table("consult_identifiers")
    op.drop_table("users")
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_assertions_expires_at"))

    op.drop_table("used_assertions")
    with op.batch_alter_table("patient_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_profiles_agreement_id"))

    op.drop_table("patient_profiles")
    with op.batch_alter_table("consults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consults_patient_resource_id"))
        batch_op.drop_index("ix_consults_org_status")

    op.drop_table("consults")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_access_tokens_client_pk"))

    op.drop_table("access_tokens")
    with op.batch_alter_table("stored_resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_resources_updated_at"))
        batch_op.drop_index("ix_stored_resources_identity")

    op.drop_table("stored_resources")
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practitioners_organisation_id"))

    op.drop_table("practitioners")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_clients_organisation_id"))

    op.drop_table("api_clients")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_code"))

    op.drop_table("agreements")
    op.drop_table("organisations")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_patient")
        batch_op.drop_index("ix_audit_entries_occurred_at")

    op.drop_table("audit_entries")
