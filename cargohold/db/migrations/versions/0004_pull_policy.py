"""pull policy

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:15:17.671533

A namespace's rule for which images may be pulled (issue 6).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_policy",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("min_severity", sa.Integer(), nullable=True),
        sa.Column("fixable_only", sa.Boolean(), nullable=False),
        sa.Column("require_scan", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespace.id"],
            name=op.f("fk_pull_policy_namespace_id_namespace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", name=op.f("pk_pull_policy")),
    )


def downgrade() -> None:
    op.drop_table("pull_policy")
