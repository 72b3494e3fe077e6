"""upload sha256

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 07:50:00.000000

The sha256 of an upload's bytes so far, recorded by the request that saw them all, so that
a node that did not receive them completes the upload without reading them again (issue 5).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blob_upload", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blob_upload", schema=None) as batch_op:
        batch_op.drop_column("sha256")
