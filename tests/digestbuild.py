"""Builders for digest tests: a two-store dealership with leads of known contact state, and an
independent reading of the figures from `contacts export` rows, to hold the digest's text against."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import Settings, settings_from_dict
from replywatch.store.db import open_database
from replywatch.store.directory import sync_directory
from replywatch.store.models import Associate, Lead, Match, Message, Store

HONDA, TOYOTA = "Main Street Honda", "Lakeside Toyota"
ZONES = {HONDA: ZoneInfo("America/Chicago"), TOYOTA: ZoneInfo("America/Denver")}
ASSOCIATES = {"Dana Lee": HONDA, "Marcus Johnson": HONDA, "Carlos Mendoza": TOYOTA}
RECIPIENTS = {HONDA: ["gm@honda.example", "bdc@honda.example"], TOYOTA: ["gm@toyota.example"]}
GROUP_RECIPIENTS = ["owner@group.example"]
HOUR, DAY = 3600, 86400


def dealership(db_url: str, smtp: dict[str, Any] | None = None, **digest: Any) -> Settings:
    stores = [{"name": n, "timezone": z.key, "digest_recipients": RECIPIENTS[n]} for n, z in ZONES.items()]
    associates = [{"name": a, "store": s} for a, s in ASSOCIATES.items()]
    digest_cfg = {"group_recipients": GROUP_RECIPIENTS, "smtp": smtp or {}, **digest}
    return settings_from_dict(
        {"database": {"url": db_url}, "stores": stores, "associates": associates, "digest": digest_cfg}
    )


def open_dealership(settings: Settings) -> sessionmaker[Session]:
    _, sessions = open_database(settings.database.url)
    sync_directory(sessions, settings)
    return sessions


def local(store: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONES[store]).astimezone(UTC)


def add_lead(
    session: Session,
    store: str,
    received_at: datetime,
    *,
    source: str = "AutoTrader",
    associate: str | None = None,
    touch_after: int | None = None,
    contact_after: int | None = None,
    opted_out: bool = False,
) -> Lead:
    """A lead whose contact state is given in seconds after it arrived (business hours = a third)."""
    store_id = session.scalar(select(Store.id).where(Store.name == store))
    associate_id = (
        session.scalar(select(Associate.id).where(Associate.name == associate)) if associate else None
    )
    n = (session.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1)) or 0) + 1
    lead = Lead(
        source=source,
        external_id=f"L{n}",
        store_id=store_id,
        associate_id=associate_id,
        received_at=received_at,
        first_touch_at=_after(received_at, touch_after),
        first_response_s=touch_after,
        first_response_business_s=_third(touch_after),
        contact_at=_after(received_at, contact_after),
        contact_channel="email" if contact_after is not None else None,
        time_to_contact_s=contact_after,
        time_to_contact_business_s=_third(contact_after),
        opted_out_at=received_at + timedelta(days=1) if opted_out else None,
    )
    session.add(lead)
    session.flush()
    return lead


def add_message(session: Session, lead: Lead, kind: str, status: str) -> None:
    """A message matched to the lead: a bounce (`matched`), or a reply waiting in review."""
    sent = lead.received_at + timedelta(hours=2)
    msg = Message(
        source="inbox", external_id=f"M{lead.id}-{kind}-{status}", channel="email", direction="inbound",
        kind=kind, sent_at=sent, ingested_at=sent,
    )  # fmt: skip
    session.add(msg)
    session.flush()
    session.add(
        Match(message_id=msg.id, lead_id=lead.id, status=status, score=0.5, reasons=[], decided_at=sent)
    )


def _after(at: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else at + timedelta(seconds=seconds)


def _third(seconds: int | None) -> int | None:
    return None if seconds is None else seconds // 3


# --- the independent reading: contacts export rows → the figures a manager should see ---


def week_rows(rows: Iterable[dict[str, str]], zones: dict[str, ZoneInfo], week: date) -> list[dict[str, str]]:
    """Export rows of the stores' leads that arrived in the week (Monday to Monday in the store's zone)."""
    chosen = []
    for row in rows:
        zone = zones.get(row["store"])
        if zone is None:
            continue
        received = datetime.fromisoformat(row["received_at"].replace("Z", "+00:00"))
        start = datetime.combine(week, time(0), zone)
        if start <= received < datetime.combine(week + timedelta(days=7), time(0), zone):
            chosen.append(row)
    return chosen


def expected(rows: list[dict[str, str]], now: datetime) -> dict[str, Any]:
    """Counts and medians straight from export rows, with statistics' own median and quantiles."""

    def age(row: dict[str, str]) -> float:
        return (now - datetime.fromisoformat(row["received_at"].replace("Z", "+00:00"))).total_seconds()

    ttc = [int(r["time_to_contact_s"]) for r in rows if r["contacted"] == "Y"]
    matured = [r for r in rows if age(r) >= 7 * DAY]
    old_48h = [r for r in rows if age(r) >= 2 * DAY]
    return {
        "leads": len(rows),
        "contacted": (len(ttc), len(rows)),
        "7d": (sum(1 for r in matured if _within(r, 7 * DAY)), len(matured)),
        "1h": (sum(1 for t in ttc if t <= HOUR), len(rows)),
        "uncontacted_48h": (sum(1 for r in old_48h if not _within(r, 2 * DAY)), len(old_48h)),
        "median_ttc_min": statistics.median(ttc) / 60 if ttc else None,
        "p90_ttc_min": _p90(ttc) / 60 if ttc else None,
        "opt_outs": sum(1 for r in rows if r["opted_out"] == "Y"),
    }


def _within(row: dict[str, str], seconds: int) -> bool:
    return row["contacted"] == "Y" and int(row["time_to_contact_s"]) <= seconds


def _p90(values: list[int]) -> float:
    return float(values[0]) if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]


def sentences(text: str) -> dict[str, Any]:
    """The figures the digest's sentences state: the headline week's 7-day contact (contacted, leads),
    its median time to contact in minutes, and the week just ended so far (contacted, leads)."""
    flat = " ".join(text.split())
    seven = re.search(r"answered within 7 days \((\d+) of (\d+)\)", flat)
    median = re.search(r"Time to contact: median (.+?), 9 in 10", flat)
    so_far = re.search(r"so far: [\d—]+%? · (\d+) of (\d+) answered", flat)
    assert seven and median and so_far, flat[:600]
    return {
        "7d": (int(seven[1]), int(seven[2])),
        "median_ttc_min": minutes(median[1]),
        "so_far": (int(so_far[1]), int(so_far[2])),
    }


def minutes(cell: str) -> float | None:
    """ "1 h 05 min" → 65; "3 d 7 h" → 4740; "< 1 min" → 0; "—" → None."""
    if cell == "—":
        return None
    if cell == "< 1 min":
        return 0.0
    units = {"d": 1440, "h": 60, "min": 1}
    return float(sum(int(n) * units[u] for n, u in re.findall(r"(\d+) (d|h|min)", cell)))


def close(shown: float | None, wanted: float | None) -> bool:
    """Equal to the digest's rounding: a minute below two days, an hour above."""
    if shown is None or wanted is None:
        return shown is wanted
    return abs(shown - wanted) <= (1 if wanted < 48 * 60 else 60)
