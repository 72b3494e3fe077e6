"""tag rules prune policies and quotas

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 05:17:05.725682

Immutable tag rules, prune policies, tag expiry, the time-machine window and storage
quotas with their usage (issue 4).
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
        "namespace_blob",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blob.id"],
            name=op.f("fk_namespace_blob_blob_id_blob"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_namespace_blob_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", "blob_id", name=op.f("pk_namespace_blob")),
    )
    with op.batch_alter_table("namespace_blob", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_namespace_blob_blob_id"), ["blob_id"], unique=False)

    op.create_table(
        "prune_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("tag_pattern", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("method IN ('keep_newest', 'older_than')", name="method"),
        sa.CheckConstraint("value >= 0", name="value"),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_prune_policy_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_prune_policy_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prune_policy")),
    )
    with op.batch_alter_table("prune_policy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prune_policy_namespace_id"), ["namespace_id"], unique=False
        )

    op.create_table(
        "tag_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=True),
        sa.Column("pattern", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_tag_rule_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repository.id"],
            name=op.f("fk_tag_rule_repository_id_repository"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_rule")),
    )
    with op.batch_alter_table("tag_rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tag_rule_namespace_id"), ["namespace_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tag_rule_repository_id"), ["repository_id"], unique=False
        )

    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tag_history_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quota_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("quota_warning_percent", sa.Integer(), nullable=False, server_default="80")
        )
        batch_op.add_column(
            sa.Column("usage_bytes", sa.BigInteger(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tag", schema=None) as batch_op:
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.drop_column("usage_bytes")
        batch_op.drop_column("quota_warning_percent")
        batch_op.drop_column("quota_bytes")
        batch_op.drop_column("tag_history_seconds")

    with op.batch_alter_table("tag_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tag_rule_repository_id"))
        batch_op.drop_index(batch_op.f("ix_tag_rule_namespace_id"))

    op.drop_table("tag_rule")
    with op.batch_alter_table("prune_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prune_policy_namespace_id"))

    op.drop_table("prune_policy")
    with op.batch_alter_table("namespace_blob", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_namespace_blob_blob_id"))

    op.drop_table("namespace_blob")
