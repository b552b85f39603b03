"""review decisions remember what they taught, and can be undone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

An accepted review decision adds the sender's address or number to its lead. When a later decision
overturns it (or `review undo`), those identities must go again, or the next mail from that address
follows the overturned link: `learned` lists them. `undone_at`/`undone_by` mark a decision taken back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("learned", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("undone_at", replywatch.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("undone_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_column("undone_by")
        batch_op.drop_column("undone_at")
        batch_op.drop_column("learned")
