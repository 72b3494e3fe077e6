"""sbom referrers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 07:40:00.000000

Whether a namespace attaches each scanned image's CycloneDX SBOM as an OCI referrer
(issue 6); off for every existing namespace.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sbom_referrers", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("namespace", schema=None) as batch_op:
        batch_op.drop_column("sbom_referrers")
