"""scanner and work queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:51:16.524492

Advisories, per-manifest scan state, the work queue and events (issue 6).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("advisory_id", sa.String(length=128), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("distribution", sa.String(length=64), nullable=False),
        sa.Column("release", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=255), nullable=False),
        sa.Column("package_key", sa.String(length=255), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("cvss_version", sa.String(length=8), nullable=True),
        sa.Column("cvss_vector", sa.String(length=255), nullable=True),
        sa.Column("cvss_score", sa.Float(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        sa.Column("modified", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisory")),
        sa.UniqueConstraint(
            "source",
            "advisory_id",
            "ecosystem",
            "distribution",
            "release",
            "package",
            name="uq_advisory_identity",
        ),
    )
    with op.batch_alter_table("advisory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advisory_distribution_release_package_key"),
            ["distribution", "release", "package_key"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_advisory_ecosystem_package_key"),
            ["ecosystem", "package_key"],
            unique=False,
        )

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("manifest_digest", sa.String(length=140), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_kind_id"), ["kind", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_repository_created_at"), ["repository", "created_at"], unique=False
        )

    op.create_table(
        "work_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_work_item_kind_key")),
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_item_not_before"), ["not_before"], unique=False)

    op.create_table(
        "manifest_scan",
        sa.Column("manifest_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("indexer_version", sa.Integer(), nullable=True),
        sa.Column("image_index", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(), nullable=True),
        sa.Column("matched_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["manifest_id"],
            ["manifest.id"],
            name=op.f("fk_manifest_scan_manifest_id_manifest"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("manifest_id", name=op.f("pk_manifest_scan")),
    )
    with op.batch_alter_table("manifest_scan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manifest_scan_status_indexer_version"),
            ["status", "indexer_version"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("manifest_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manifest_scan_status_indexer_version"))

    op.drop_table("manifest_scan")
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_not_before"))

    op.drop_table("work_item")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_repository_created_at"))
        batch_op.drop_index(batch_op.f("ix_event_kind_id"))

    op.drop_table("event")
    with op.batch_alter_table("advisory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advisory_ecosystem_package_key"))
        batch_op.drop_index(batch_op.f("ix_advisory_distribution_release_package_key"))

    op.drop_table("advisory")
