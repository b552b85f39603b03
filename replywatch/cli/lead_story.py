"""`replywatch leads show LEAD_ID` (one lead's story) and `leads find TEXT` (by name, address, number)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from replywatch.cli.context import console, runtime
from replywatch.clock import iso_z
from replywatch.errors import ReplywatchError


def register(leads_app: typer.Typer) -> None:
    leads_app.command("show")(leads_show)
    leads_app.command("find")(leads_find)


def leads_show(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD_ID", help="The lead's id as exported."),
    source: str | None = typer.Option(None, "--source", help="The lead's source, when its id is not unique."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """The lead, then every touch, reply, auto-reply, bounce, opt-out and review decision, in time order."""
    from replywatch.reports.lead_story import lead_story

    if format not in ("text", "json"):
        raise ReplywatchError(f"--format must be text or json, not {format!r}")
    with runtime(ctx).sessions() as session:
        story = lead_story(session, lead_id, source)
    if format == "json":
        print(json.dumps(story.to_json(), indent=2, ensure_ascii=False))
        return
    from replywatch.cli.lead_screen import story_view

    console.print(story_view(story, _zone(story.timezone)))


def leads_find(
    ctx: typer.Context,
    text: str = typer.Argument(
        ..., metavar="TEXT", help="A name (loosely), an email address or a phone number."
    ),
    format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Leads by name (nicknames, accents, one slip aside), email address or phone number, best first."""
    from replywatch.reports.lead_find import find_leads

    if format not in ("table", "json"):
        raise ReplywatchError(f"--format must be table or json, not {format!r}")
    rt = runtime(ctx)
    with rt.sessions() as session:
        found = find_leads(session, text, rt.settings.stores[0].region if rt.settings.stores else "US")
    if format == "json":
        print(json.dumps([f.to_json() for f in found], indent=2, ensure_ascii=False))
        return
    from replywatch.cli.lead_screen import found_table

    console.print(found_table(found, text))


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError):
        return None


def local_and_utc(at: datetime, zone: ZoneInfo | None) -> str:
    """`2026-11-04 09:00 CST (15:00Z)`: the store's time first, as people there read it."""
    if zone is None:
        return iso_z(at)
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M %Z} ({at.astimezone(ZoneInfo('UTC')):%H:%MZ})"
