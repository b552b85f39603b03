"""How a lead's story and a look-up look in the terminal."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.console import Group
from rich.table import Table
from rich.text import Text

from replywatch.cli.lead_story import local_and_utc
from replywatch.cli.review_screen import describe
from replywatch.clock import iso_z
from replywatch.reports.lead_find import FoundLead
from replywatch.reports.lead_story import Event, LeadStory


def story_view(story: LeadStory, zone: ZoneInfo | None) -> Group:
    head = Text()
    head.append(f"lead {story.lead_id}", style="bold")
    head.append(f"  {story.name or '(no name)'} · {story.source} · {story.store or '(no store)'}")
    head.append(f" · {story.associate or '(unassigned)'}")
    head.append(f"\nemails: {', '.join(story.emails) or '-'}   phones: {', '.join(story.phones) or '-'}")
    if story.vehicle:
        head.append(f"\nvehicle: {story.vehicle}")
    head.append(f"\nreceived {local_and_utc(story.received_at, zone)}")
    if story.contact_at:
        head.append(f"\ncontacted {local_and_utc(story.contact_at, zone)} by {story.contact_channel}")
    else:
        head.append("\nnot contacted yet")
    if story.opted_out_at:
        head.append(f"\nopted out {local_and_utc(story.opted_out_at, zone)}")
    lines = [_event_line(e, zone) for e in story.events]
    return Group(head, Text(""), *lines)


def _event_line(e: Event, zone: ZoneInfo | None) -> Text:
    """One event on one line (wraps rather than truncates in a narrow terminal)."""
    line = Text(f"{local_and_utc(e.at, zone)}  ")
    line.append(e.kind, style="bold")
    line.append(" " + " ".join(x for x in (e.direction, e.channel) if x))
    if e.message_id:
        line.append(f"  message {e.message_id}")
    if e.status:
        line.append(f"  {e.status}")
    if e.score is not None:
        line.append(f"  score {e.score:.2f}")
    if e.reasons:
        line.append(f"  ({describe(e.reasons)})", style="dim")
    return line


def found_table(found: list[FoundLead], text: str) -> Table:
    table = Table(title=f"Leads for {text!r}: {len(found)}")
    for column in ("lead", "name", "source", "store", "received", "contacted", "emails / phones", "found by"):
        table.add_column(column)
    for f in found:
        table.add_row(
            f.lead_id,
            f.name or "",
            f.source,
            f.store or "",
            iso_z(f.received_at),
            iso_z(f.contact_at) if f.contact_at else "",
            ", ".join(f.emails + f.phones),
            f.how,
        )
    return table
