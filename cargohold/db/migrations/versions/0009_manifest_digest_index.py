"""manifest digest index

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 09:30:00.000000

An index on manifest.digest alone, so that a scan finds the rows of the same manifest in
other repositories (an already indexed twin, whose index it reuses instead of reading the
layers again) in one index lookup. The (repository_id, digest) unique index cannot serve
a lookup by digest: without this one, each scan read the whole manifest table.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manifest_digest"), ["digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("manifest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manifest_digest"))
