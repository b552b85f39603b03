"""Two pollers storing the same messages: the second skips what the first stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

from mailbuild import DANA_PHONE, at, settings
from sqlalchemy import func, select

from replywatch.classify.rules import RuleSet, default_rules_dir, load_rules
from replywatch.config import Settings
from replywatch.ingest.batch import BatchStore
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.ingest.prepare import Preparer
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Match, Message, MessageKey, Quarantine

CUSTOMER = "+15125550134"
TEXTS = [
    ("SM1", at(2, 15), DANA_PHONE, CUSTOMER, "Hi, this is Dana about the CR-V", "outbound-api"),
    ("SM2", at(2, 16), CUSTOMER, DANA_PHONE, "Yes, Saturday works", "inbound"),
    ("SM3", at(2, 17), DANA_PHONE, CUSTOMER, "See you Saturday!", "outbound-api"),
]


def sms_csv(path: Path, rows: list[tuple[object, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "sent_at", "from", "to", "body", "direction"])
        for sid, when, sender, to, body, direction in rows:
            writer.writerow([sid, when.isoformat(), sender, to, body, direction])  # type: ignore[attr-defined]


def counts(cfg: Settings) -> dict[str, int]:
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        per_model = {
            "messages": session.scalar(select(func.count()).select_from(Message)),
            "matches": session.scalar(select(func.count()).select_from(Match)),
            "keys": session.scalar(select(func.count()).select_from(MessageKey)),
            "quarantined": session.scalar(select(func.count()).select_from(Quarantine)),
        }
    return {name: value or 0 for name, value in per_model.items()}


def store_directly(cfg: Settings, rules: RuleSet) -> int:
    """Store every text of the source in one batch, as a poller does once it has checked which ids are
    new: the other poller commits between that check and this insert."""
    _, sessions = open_database(cfg.database.url)
    now = at(30, 12)
    directory = open_directory(sessions, cfg)
    with sessions() as session, session.begin():
        preparer = Preparer(directory, rules, now)
        batch = [preparer.prepare(item) for item in build_source(cfg.sources[0]).items({})]
        store = BatchStore(session, directory, cfg.matching.lead_open_days, now, None, rules.policy)
        store.store(batch)
        store.finish()
        return store.stored


def test_a_message_another_poller_stored_first_is_skipped_silently(tmp_path: Path, db_url: str) -> None:
    # Given the texts, and another poller that has already stored the customer's reply (SM2)
    rules = load_rules(default_rules_dir())
    sms_csv(tmp_path / "all.csv", list(TEXTS))
    sms_csv(tmp_path / "one.csv", [TEXTS[1]])
    other = settings(tmp_path, db_url, texts="sms-csv:one.csv")
    _, sessions = open_database(db_url)
    Pipeline(sessions, other, rules, open_directory(sessions, other), now=lambda: at(30, 12)).poll(
        build_source(other.sources[0])
    )
    before = counts(other)
    # When this poller stores a batch of all three texts
    stored = store_directly(settings(tmp_path, db_url, texts="sms-csv:all.csv"), rules)
    # Then the two new ones are stored, SM2 is neither stored again nor quarantined, and the batch holds
    after = counts(other)
    assert stored == 2
    assert before == {"messages": 1, "matches": 1, "keys": 2, "quarantined": 0}
    assert after == {"messages": 3, "matches": 3, "keys": 6, "quarantined": 0}
    with sessions() as session:
        ids = session.scalars(select(Message.external_id).order_by(Message.external_id))
        assert list(ids) == ["SM1", "SM2", "SM3"]


def test_a_poll_after_another_poller_stores_only_what_is_new(tmp_path: Path, db_url: str) -> None:
    # Given another poller that stored the reply already
    rules = load_rules(default_rules_dir())
    sms_csv(tmp_path / "all.csv", list(TEXTS))
    sms_csv(tmp_path / "one.csv", [TEXTS[1]])
    other = settings(tmp_path, db_url, texts="sms-csv:one.csv")
    _, sessions = open_database(db_url)
    Pipeline(sessions, other, rules, open_directory(sessions, other), now=lambda: at(30, 12)).poll(
        build_source(other.sources[0])
    )
    # When this poller reads all the texts
    mine = settings(tmp_path, db_url, texts="sms-csv:all.csv")
    result = Pipeline(sessions, mine, rules, open_directory(sessions, mine), now=lambda: at(30, 12)).poll(
        build_source(mine.sources[0])
    )
    # Then it reports and stores the two it did not have
    assert (result.seen, result.stored, result.quarantined) == (3, 2, 0)
    assert counts(mine) == {"messages": 3, "matches": 3, "keys": 6, "quarantined": 0}
