"""The contact summary table: per store and associate, leads, contacted, rate, median time-to-contact."""

from __future__ import annotations

from statistics import median

from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from replywatch.cli.context import console
from replywatch.store.models import Associate, Lead, Store


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def print_summary(session: Session) -> None:
    stmt = (
        select(Store.name, Associate.name, Lead.contact_at, Lead.time_to_contact_s)
        .outerjoin(Store, Store.id == Lead.store_id)
        .outerjoin(Associate, Associate.id == Lead.associate_id)
    )
    groups: dict[tuple[str, str], list[int | None]] = {}
    for store, associate, contact_at, ttc in session.execute(stmt):
        key = (store or "(no store)", associate or "(unassigned)")
        groups.setdefault(key, []).append(ttc if contact_at is not None else None)
    table = Table(title="Contact by store and associate")
    for column in ("Store", "Associate", "Leads", "Contacted", "Contact rate", "Median time-to-contact"):
        table.add_column(column, justify="right" if column not in ("Store", "Associate") else "left")
    for (store, associate), values in sorted(groups.items()):
        contacted = [v for v in values if v is not None]
        table.add_row(
            store,
            associate,
            str(len(values)),
            str(len(contacted)),
            f"{len(contacted) / len(values):.0%}",
            _duration(median(contacted) if contacted else None),
        )
    console.print(table)
