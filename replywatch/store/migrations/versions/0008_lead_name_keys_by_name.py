"""lead name keys by given name and surname spelling; rebuilt for every lead

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A key was the surname's Soundex code with a given name: a block held a share of every open lead, so
name look-ups slowed as leads accumulated. A key now names the surname itself or one of its one-slip
spellings; the index also carries lead_id so that a look-up reads the index alone. Every lead gets its
keys again, leads stored before 0005 (which had none) included.

The keys come from the application's functions of this version (replywatch.match); a later change of
the scheme brings its own rebuild.
"""

from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa
from alembic import op

import replywatch.store.models
from replywatch.match.names import keys_to_find_messages
from replywatch.match.namescore import lead_blocking_keys, lead_names

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000
KeysOf = Callable[[str | None, str | None, str | None], Iterable[str]]


def upgrade() -> None:
    op.drop_table("lead_name_keys")
    _create(48)
    with op.batch_alter_table("lead_name_keys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_name_keys_key_received_lead", ["key", "received_at", "lead_id"], unique=False
        )
    _backfill(lead_blocking_keys)


def downgrade() -> None:
    op.drop_table("lead_name_keys")
    _create(16)
    with op.batch_alter_table("lead_name_keys", schema=None) as batch_op:
        batch_op.create_index("ix_lead_name_keys_key_received", ["key", "received_at"], unique=False)
    _backfill(_sound_keys)


def _sound_keys(first: str | None, last: str | None, full: str | None) -> list[str]:
    """The keys of 0005: surname Soundex with each formal given name and each initial."""
    return sorted({k for name in lead_names(first, last, full) for k in keys_to_find_messages(name)})


def _create(key_length: int) -> None:
    op.create_table(
        "lead_name_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=key_length), nullable=False),
        sa.Column("received_at", replywatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_name_keys_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_name_keys")),
        sa.UniqueConstraint("lead_id", "key", name=op.f("uq_lead_name_keys_lead_id_key")),
    )


def _backfill(keys_of: KeysOf) -> None:
    """Every lead's keys, a batch of leads at a time."""
    received = sa.column("received_at", replywatch.store.models.UTCDateTime())
    leads = sa.table(
        "leads",
        sa.column("id"),
        sa.column("first_name"),
        sa.column("last_name"),
        sa.column("full_name"),
        received,
    )
    keys = sa.table(
        "lead_name_keys",
        sa.column("lead_id"),
        sa.column("key"),
        sa.column("received_at", replywatch.store.models.UTCDateTime()),
    )
    conn, last = op.get_bind(), 0
    while True:
        stmt = sa.select(leads).where(leads.c.id > last).order_by(leads.c.id).limit(_BATCH)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        values = [
            {"lead_id": row.id, "key": key, "received_at": row.received_at}
            for row in rows
            for key in keys_of(row.first_name, row.last_name, row.full_name)
        ]
        if values:
            conn.execute(sa.insert(keys), values)
        last = rows[-1].id
