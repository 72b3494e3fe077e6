"""identity and access

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:06:06.397293

Accounts, credentials, teams, permissions, signing keys and the audit log (issue 3).
Namespaces created before this revision become organizations; repositories start private.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("performer", sa.String(length=255), nullable=True),
        sa.Column("performer_kind", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=True),
        sa.Column("repository", sa.String(length=255), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_kind_created_at"), ["kind", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_audit_event_namespace_created_at"),
            ["namespace", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_audit_event_performer_created_at"),
            ["performer", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_audit_event_repository_created_at"),
            ["repository", "created_at"],
            unique=False,
        )

    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("private_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_key")),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "name",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("external_subject", sa.String(length=512), nullable=True),
        sa.Column("superuser", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("robot_namespace_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('user', 'robot')", name="kind"),
        sa.ForeignKeyConstraint(
            ["robot_namespace_id"],
            ["namespace.id"],
            name=op.f("fk_account_robot_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("name", name=op.f("uq_account_name")),
        sa.UniqueConstraint(
            "provider", "external_subject", name=op.f("uq_account_provider_external_subject")
        ),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_robot_namespace_id"), ["robot_namespace_id"], unique=False
        )

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("sync_provider", sa.String(length=16), nullable=True),
        sa.Column("sync_group", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('member', 'creator', 'admin')", name="role"),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_team_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("namespace_id", "name", name=op.f("uq_team_namespace_id_name")),
    )
    op.create_table(
        "credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("lookup", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_credential_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential")),
        sa.UniqueConstraint("lookup", name=op.f("uq_credential_lookup")),
    )
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_account_id_kind"), ["account_id", "kind"], unique=False
        )

    op.create_table(
        "default_permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('read', 'write', 'admin')", name="role"),
        sa.CheckConstraint("(account_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_default_permission_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_default_permission_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_default_permission_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_default_permission")),
        sa.UniqueConstraint(
            "namespace_id", "account_id", name=op.f("uq_default_permission_namespace_id_account_id")
        ),
        sa.UniqueConstraint(
            "namespace_id", "team_id", name=op.f("uq_default_permission_namespace_id_team_id")
        ),
    )
    op.create_table(
        "repository_permission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint("role IN ('read', 'write', 'admin')", name="role"),
        sa.CheckConstraint("(account_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_repository_permission_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_repository_permission_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_repository_permission_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repository_permission")),
        sa.UniqueConstraint(
            "repository_id",
            "account_id",
            name=op.f("uq_repository_permission_repository_id_account_id"),
        ),
        sa.UniqueConstraint(
            "repository_id", "team_id", name=op.f("uq_repository_permission_repository_id_team_id")
        ),
    )
    with op.batch_alter_table("repository_permission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repository_permission_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repository_permission_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "team_member",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_team_member_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "account_id", name=op.f("pk_team_member")),
    )
    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_member_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="organization")
        )
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_namespace_owner_id_account"),
            "account",
            ["owner_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("repository", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=16), nullable=False, server_default="private")
        )
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repository", schema=None) as batch_op:
        batch_op.drop_column("description")
        batch_op.drop_column("visibility")

    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_namespace_owner_id_account"), type_="foreignkey")
        batch_op.drop_column("email")
        batch_op.drop_column("owner_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("team_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_member_account_id"))

    op.drop_table("team_member")
    with op.batch_alter_table("repository_permission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repository_permission_team_id"))
        batch_op.drop_index(batch_op.f("ix_repository_permission_account_id"))

    op.drop_table("repository_permission")
    op.drop_table("default_permission")
    with op.batch_alter_table("credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_account_id_kind"))

    op.drop_table("credential")
    op.drop_table("team")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_robot_namespace_id"))

    op.drop_table("account")
    op.drop_table("signing_key")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_repository_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_performer_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_namespace_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_kind_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_created_at"))

    op.drop_table("audit_event")
