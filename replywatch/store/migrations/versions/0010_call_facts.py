"""call facts on messages: a call's length and who answered it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

Phone calls are stored as messages of channel `call`; whether one was a conversation (contact) depends
on its length and on whether a machine answered, kept here. Other messages leave both empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("answered_by", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("answered_by")
        batch_op.drop_column("duration_s")
