"""bounce recipients: the addresses each bounce reported, for leads stored after it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

A bounce used to mark only the lead identities that existed when it was stored, so the same mail and
leads gave different marks depending on which was stored first. Bounces stored from now on keep their
failed addresses here. Bounces stored before this revision are not read again: their marks stay as they
are, and a lead added later is not marked from them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bounce_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("bounced_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_bounce_recipients_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_recipients")),
        sa.UniqueConstraint("message_id", "address", name=op.f("uq_bounce_recipients_message_id_address")),
    )
    with op.batch_alter_table("bounce_recipients", schema=None) as batch_op:
        batch_op.create_index("ix_bounce_recipients_address", ["address"], unique=False)


def downgrade() -> None:
    op.drop_table("bounce_recipients")
