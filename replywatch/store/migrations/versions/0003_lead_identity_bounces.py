"""lead identity bounces

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bounced_at", replywatch.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("bounce_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.drop_column("bounce_status")
        batch_op.drop_column("bounced_at")
