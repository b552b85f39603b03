"""the notification outbox, and when a lead was stored and last changed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

`notify_events` holds every event (lead facts and alerts) with a unique key, so that the same fact is one
event; `notify_deliveries` one row per event and target, claimed by one daemon at a time. `leads.stored_at`
tells a live lead from a backfilled one (only live leads raise alerts); `leads.changed_at` is what
`contacts export --changed-since` selects by. Leads stored before this revision count as changed now.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = replywatch.store.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notify_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", UTC_TIME(), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notify_events_event_id")),
        sa.UniqueConstraint("key", name=op.f("uq_notify_events_key")),
    )
    op.create_index("ix_notify_events_created_at", "notify_events", ["created_at"])
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_pk", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME(), nullable=False),
        sa.Column("first_attempt_at", UTC_TIME(), nullable=True),
        sa.Column("last_attempt_at", UTC_TIME(), nullable=True),
        sa.Column("delivered_at", UTC_TIME(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", UTC_TIME(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_pk"],
            ["notify_events.id"],
            name=op.f("fk_notify_deliveries_event_pk_notify_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint("event_pk", "target", name=op.f("uq_notify_deliveries_event_pk_target")),
    )
    op.create_index("ix_notify_deliveries_due", "notify_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_notify_deliveries_target_lead", "notify_deliveries", ["target", "lead_id", "event_pk"]
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_at", UTC_TIME(), nullable=True))
        batch_op.add_column(sa.Column("changed_at", UTC_TIME(), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_changed_at"), ["changed_at"], unique=False)
    leads = sa.table("leads", sa.column("changed_at", UTC_TIME()))
    op.execute(leads.update().values(changed_at=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_changed_at"))
        batch_op.drop_column("changed_at")
        batch_op.drop_column("stored_at")
    op.drop_index("ix_notify_deliveries_target_lead", table_name="notify_deliveries")
    op.drop_index("ix_notify_deliveries_due", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_index("ix_notify_events_created_at", table_name="notify_events")
    op.drop_table("notify_events")
