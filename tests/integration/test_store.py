"""The schema: migrations build exactly the models, upgrades are idempotent, uniqueness holds."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from replywatch.store import bulk, db, repo, sources
from replywatch.store.models import Base, Lead, Message


def test_migrations_build_the_models_schema(db_url: str) -> None:
    # Given an empty database opened for the first time (upgraded automatically)
    engine, _ = db.open_database(db_url)
    # Then the migrated schema has no difference from the models
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert db.current_revisions(engine) == db.head_revisions()
    assert {"leads", "lead_identities", "messages", "matches", "quarantine"} <= set(
        inspect(engine).get_table_names()
    )


def test_the_schema_heads_replywatch_knows_are_alembics() -> None:
    # open_database compares with SCHEMA_HEADS so that commands start without importing Alembic: a new
    # migration must update it
    assert db.head_revisions() == db.SCHEMA_HEADS


def test_upgrade_twice_changes_nothing(db_url: str) -> None:
    engine, _ = db.open_database(db_url)
    db.upgrade(engine)
    assert db.current_revisions(engine) == db.head_revisions()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: object) -> None:
    engine, _ = db.open_database(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_lead_and_a_message_are_stored_once_per_source_and_id(db_url: str) -> None:
    _, sessions = db.open_database(db_url)
    when = datetime(2026, 11, 2, 15, tzinfo=UTC)
    with sessions() as session, session.begin():
        session.add(Lead(source="AutoTrader", external_id="L1", received_at=when))
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(Lead(source="AutoTrader", external_id="L1", received_at=when))
    message = {
        "source": "inbox",
        "external_id": "INBOX/1",
        "channel": "email",
        "direction": "inbound",
        "kind": "human",
        "sent_at": when,
        "ingested_at": when,
    }
    with sessions() as session, session.begin():
        session.add(Message(**message))
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(Message(**message))


def test_times_come_back_as_utc_whatever_zone_went_in(db_url: str) -> None:
    from zoneinfo import ZoneInfo

    _, sessions = db.open_database(db_url)
    local = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    with sessions() as session, session.begin():
        session.add(Lead(source="Web", external_id="Z", received_at=local))
    with sessions() as session:
        lead = session.query(Lead).one()
    assert lead.received_at == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert lead.received_at.tzinfo is UTC


def test_processes_opening_a_new_database_at_once_migrate_it_once(db_url: str) -> None:
    # Given a new database and four processes that open it at the same moment (a daemon starting while
    # `status` runs, two daemons of a group)
    code = "import sys; from replywatch.store.db import open_database; open_database(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    # Then every one of them succeeds and the schema is current
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    engine, _ = db.open_database(db_url)
    assert db.current_revisions(engine) == db.SCHEMA_HEADS


ODD_IDS = ['a"b', "back\\slash", "é-ü", "emoji 🚗", "it's", "[1]", "null", "", " lead space", "%s", "?"]


def test_look_ups_by_many_values_find_exactly_the_stored_ones(db_url: str) -> None:
    # Given messages whose ids hold quotes, backslashes, non-ASCII and JSON- or SQL-looking text
    _, sessions = db.open_database(db_url)
    when = datetime(2026, 11, 2, 15, tzinfo=UTC)
    rows = [
        {"source": "s", "external_id": i, "channel": "sms", "direction": "inbound", "kind": "human"}
        | {"sent_at": when, "is_reply": False, "ingested_at": when}
        for i in ODD_IDS
    ]
    with sessions() as session, session.begin():
        bulk.insert_new_rows(session, Message, rows, ("source", "external_id"))
    # When looked up with those ids among more than one part of ids that are not stored
    asked = [f"missing-{n}" for n in range(1200)] + ODD_IDS + ['a"', "back", "E-U"]
    with sessions() as session:
        known, statuses = sources.known_statuses(session, "s", asked)
        ids = {i for (i,) in session.execute(select(Message.id))}
        held = repo.messages_with_keys(session, [*sorted(ids), 10**9])
    # Then exactly the stored ones are found, each once
    assert known == set(ODD_IDS) and set(statuses) == set(ODD_IDS)
    assert sorted(m.external_id for m, _ in held) == sorted(ODD_IDS)
