"""A Twilio console CSV export read by `sms-csv`: contact is found; re-imports and overlaps add nothing."""

from __future__ import annotations

import io
from pathlib import Path

from mailbuild import DANA_PHONE, Maildir, at, lead_mail, settings
from sqlalchemy import func, select
from twilio_export import row, write_export
from wiring import pipeline as wired_pipeline

from replywatch.config import Settings
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.export import contact_rows, write_csv
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Message

EVA, GIL = "+15125550134", "+15125550177"


MONDAY = [
    row(1, at(5, 15, 5), DANA_PHONE, EVA, "Hi Eva, Dana from Main Street Honda", "outbound-api", "failed"),
    row(2, at(5, 15, 10), DANA_PHONE, EVA, "Hi Eva, Dana here, about the CR-V", "outbound-api", "delivered"),
    row(3, at(5, 15, 40), DANA_PHONE, GIL, "Hi Gil, Dana here", "outbound-api", "delivered"),
    row(4, at(5, 15, 45), EVA, DANA_PHONE, 'Sure, call me at 5, "after work"\nthanks', "inbound", "received"),
]
TUESDAY = [
    row(5, at(6, 9), GIL, DANA_PHONE, "is it still for sale?", "inbound", "received"),
    row(6, at(6, 9, 5), DANA_PHONE, GIL, "It is! Come by?", "outbound-reply", "delivered"),
]


def dealership(tmp: Path, db_url: str) -> Settings:
    box = Maildir(tmp / "mail")
    box.add(lead_mail("P1", "Eva", "Ruiz", None, "(512) 555-0134", at(5, 15)), at(5, 15))
    box.add(lead_mail("P2", "Gil", "Sosa", None, "512.555.0177", at(5, 15, 30)), at(5, 15, 30))
    return settings(tmp, db_url, inbox="maildir:mail", texts="sms-csv:export.csv")


def run(cfg: Settings) -> Pipeline:
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    for source in cfg.sources:
        pipeline.poll(build_source(source))
    return pipeline


def export_csv(pipeline: Pipeline) -> str:
    out = io.StringIO()
    with pipeline.sessions() as session:
        write_csv(contact_rows(session), out)
    return out.getvalue()


def texts(pipeline: Pipeline) -> int:
    with pipeline.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.source == "texts")) or 0


def test_a_console_export_makes_contact(tmp_path: Path, db_url: str) -> None:
    # Given Monday's console export: a failed text, a delivered one, and Eva's reply with a quoted line break
    cfg = dealership(tmp_path, db_url)
    write_export(tmp_path / "export.csv", MONDAY)
    # When polled
    rows = {r["lead_id"]: r for r in contact_rows_of(run(cfg))}
    # Then Eva's first touch is the delivered text and her reply is contact; Gil is touched, not contacted
    assert (rows["P1"]["first_touch_at"], rows["P1"]["contact_at"]) == (
        "2026-11-05T15:10:00Z",
        "2026-11-05T15:45:00Z",
    )
    assert (rows["P2"]["first_touch_at"], rows["P2"]["contacted"]) == ("2026-11-05T15:40:00Z", "N")


def test_the_same_export_again_or_an_overlapping_later_one_adds_nothing_twice(
    tmp_path: Path, db_url: str
) -> None:
    # Given Monday's export, polled, then polled again unchanged
    cfg = dealership(tmp_path, db_url)
    write_export(tmp_path / "export.csv", MONDAY)
    pipeline = run(cfg)
    run(cfg)
    assert texts(pipeline) == 4
    # When a later export covering Monday afternoon and Tuesday replaces it, saved again by a spreadsheet
    write_export(tmp_path / "export.csv", MONDAY[2:] + TUESDAY, windows=True)
    run(cfg)
    # Then only Tuesday's two texts are new, and Gil is now contacted
    assert texts(pipeline) == 6
    rows = {r["lead_id"]: r for r in contact_rows_of(pipeline)}
    assert (rows["P2"]["contacted"], rows["P2"]["contact_at"]) == ("Y", "2026-11-06T09:00:00Z")
    # And the result is the one export of both days would give
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = dealership(clean_dir, f"sqlite:///{clean_dir / 'clean.db'}")
    write_export(clean_dir / "export.csv", MONDAY + TUESDAY)
    assert export_csv(pipeline) == export_csv(run(clean))


def contact_rows_of(pipeline: Pipeline) -> list[dict[str, str]]:
    with pipeline.sessions() as session:
        return list(contact_rows(session))
