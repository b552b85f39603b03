"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("sent_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint("scope", "week_start", name=op.f("uq_digest_runs_scope_week_start")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("position", sa.String(length=1000), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_quarantine_source_external_id")),
    )
    op.create_table(
        "source_cursors",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source", "key", name=op.f("pk_source_cursors")),
    )
    op.create_table(
        "source_states",
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("last_success_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_states")),
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("name", name=op.f("uq_stores_name")),
    )
    op.create_table(
        "associates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_associates_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_associates")),
        sa.UniqueConstraint("name", name=op.f("uq_associates_name")),
    )
    op.create_table(
        "associate_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("associate_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["associate_id"],
            ["associates.id"],
            name=op.f("fk_associate_identities_associate_id_associates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_associate_identities")),
        sa.UniqueConstraint(
            "associate_id",
            "kind",
            "value",
            name=op.f("uq_associate_identities_associate_id_kind_value"),
        ),
    )
    with op.batch_alter_table("associate_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_associate_identities_value"), ["value"], unique=False)

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("external_id_source", sa.String(length=200), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("associate_id", sa.Integer(), nullable=True),
        sa.Column("received_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("full_name", sa.String(length=400), nullable=True),
        sa.Column("vehicle", sa.String(length=400), nullable=True),
        sa.Column("origin_message_id", sa.Integer(), nullable=True),
        sa.Column("first_touch_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("contact_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.Column("contact_channel", sa.String(length=8), nullable=True),
        sa.Column("contact_message_id", sa.Integer(), nullable=True),
        sa.Column("time_to_contact_s", sa.Integer(), nullable=True),
        sa.Column("time_to_contact_business_s", sa.Integer(), nullable=True),
        sa.Column("first_response_s", sa.Integer(), nullable=True),
        sa.Column("first_response_business_s", sa.Integer(), nullable=True),
        sa.Column("opted_out_at", replywatch.store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["associate_id"], ["associates.id"], name=op.f("fk_leads_associate_id_associates")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_leads_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_leads_source_external_id")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leads_contact_at"), ["contact_at"], unique=False)
        batch_op.create_index("ix_leads_store_received", ["store_id", "received_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("sent_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("sender_name", sa.String(length=400), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=True),
        sa.Column("header_message_id", sa.String(length=500), nullable=True),
        sa.Column("is_reply", sa.Boolean(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("associate_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.String(length=1000), nullable=True),
        sa.Column("ingested_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["associate_id"], ["associates.id"], name=op.f("fk_messages_associate_id_associates")
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_messages_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_messages_source_external_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_header_message_id"), ["header_message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_sent_at"), ["sent_at"], unique=False)

    op.create_table(
        "funnel_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_funnel_events_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_events")),
        sa.UniqueConstraint("lead_id", "event", "at", name=op.f("uq_funnel_events_lead_id_event_at")),
    )
    op.create_table(
        "lead_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_identities_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_identities")),
        sa.UniqueConstraint("lead_id", "kind", "value", name=op.f("uq_lead_identities_lead_id_kind_value")),
    )
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.create_index("ix_lead_identities_value_kind", ["value", "kind"], unique=False)

    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=20), nullable=False),
        sa.Column("decided_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_matches_lead_id_leads"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_matches_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("message_id", name=op.f("uq_matches_message_id")),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index("ix_matches_lead_status", ["lead_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_matches_status"), ["status"], unique=False)

    op.create_table(
        "message_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_keys_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_keys")),
        sa.UniqueConstraint(
            "message_id", "role", "value", name=op.f("uq_message_keys_message_id_role_value")
        ),
    )
    with op.batch_alter_table("message_keys", schema=None) as batch_op:
        batch_op.create_index("ix_message_keys_value_role", ["value", "role"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_message_keys_value_role")

    op.drop_table("message_keys")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_status"))
        batch_op.drop_index("ix_matches_lead_status")

    op.drop_table("matches")
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_identities_value_kind")

    op.drop_table("lead_identities")
    op.drop_table("funnel_events")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_sent_at"))
        batch_op.drop_index(batch_op.f("ix_messages_header_message_id"))

    op.drop_table("messages")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_store_received")
        batch_op.drop_index(batch_op.f("ix_leads_contact_at"))

    op.drop_table("leads")
    with op.batch_alter_table("associate_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_associate_identities_value"))

    op.drop_table("associate_identities")
    op.drop_table("associates")
    op.drop_table("stores")
    op.drop_table("source_states")
    op.drop_table("source_cursors")
    op.drop_table("quarantine")
    op.drop_table("digest_runs")
