"""messages: which time sent_at is (the sender's Date, our Received, delivery), and a failed DMARC/SPF

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

A sender's Date: is no longer trusted when it is missing, in the future or far from our server's receipt;
the time used instead is recorded. A mail our own server found failing DMARC or SPF is marked, so that it
is never matched automatically. Messages stored before this revision have neither.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_source", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("auth_failed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("auth_failed")
        batch_op.drop_column("time_source")
