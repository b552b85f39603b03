"""source leases for several daemons, and paused sources

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_leases",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("acquired_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_leases")),
    )
    with op.batch_alter_table("source_states") as batch:
        batch.add_column(sa.Column("paused_config", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_states") as batch:
        batch.drop_column("paused_config")
    op.drop_table("source_leases")
