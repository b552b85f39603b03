"""Migration 0008: every lead's name blocking keys are rebuilt in the current scheme, old leads included."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from replywatch.match.namescore import lead_blocking_keys
from replywatch.store import db

LEADS = [
    (1, "Robert", "Johnson", "Robert Johnson"),
    (2, "María", "García López", "María García López"),
    (3, None, None, "Smith, Liz"),
    (4, None, None, None),
]


def _keys(engine: sa.Engine) -> dict[int, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT lead_id, key FROM lead_name_keys ORDER BY lead_id, key")).all()
    found: dict[int, list[str]] = {}
    for lead_id, key in rows:
        found.setdefault(lead_id, []).append(key)
    return found


def test_upgrade_gives_every_lead_its_keys_and_downgrade_gives_the_old_ones(db_url: str) -> None:
    # Given a database at 0007 whose leads have no name keys (stored before 0005) or stale ones
    engine = db.make_engine(db_url)
    config = db.alembic_config(engine)
    command.upgrade(config, "0007")
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO stores (id, name, timezone, region) VALUES (1, 'Main', 'UTC', 'US')")
        )
        for lead_id, first, last, full in LEADS:
            conn.execute(
                sa.text(
                    "INSERT INTO leads (id, source, external_id, store_id, received_at, first_name, "
                    "last_name, full_name) VALUES (:id, 'Web', :ext, 1, :at, :first, :last, :full)"
                ),
                {
                    "id": lead_id,
                    "ext": f"L{lead_id}",
                    "at": datetime(2026, 11, 1, tzinfo=UTC),
                    "first": first,
                    "last": last,
                    "full": full,
                },
            )
        conn.execute(
            sa.text("INSERT INTO lead_name_keys (lead_id, key, received_at) VALUES (1, 'j525:robert', :at)"),
            {"at": datetime(2026, 11, 1, tzinfo=UTC)},
        )
    # When it is upgraded
    db.upgrade(engine)
    # Then every lead with a name has exactly the keys a new lead gets now
    expected = {i: lead_blocking_keys(f, la, fu) for i, f, la, fu in LEADS if lead_blocking_keys(f, la, fu)}
    assert _keys(engine) == expected
    assert (
        "johnsn:robert" in expected[1] and "lopez:maria" in expected[2] and "smith:elizabeth" in expected[3]
    )
    # And going back to 0007 leaves the Soundex keys that version reads
    command.downgrade(config, "0007")
    assert "j525:robert" in _keys(engine)[1]
    engine.dispose()
