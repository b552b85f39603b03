"""`purge --older-than DAYS [--dry-run]`: message content past retention removed, the figures kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import console, runtime
from replywatch.clock import iso_z, now

if TYPE_CHECKING:
    from replywatch.store.purge import PurgeResult


def register(app: typer.Typer) -> None:
    app.command("purge")(purge_command)


def purge_command(
    ctx: typer.Context,
    older_than: str = typer.Option(
        ..., "--older-than", metavar="DAYS", help="Retention: content older than this many days goes."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be removed; change nothing."),
) -> None:
    """Remove the text of old messages and quarantined mail (FTC Safeguards Rule); every figure stays."""
    from replywatch.store.purge import parse_days, purge

    days = parse_days(older_than)
    rt = runtime(ctx)
    result = purge(rt.sessions, days, now(), dry_run=dry_run)
    for line in describe(result):
        console.print(line, highlight=False)


def describe(result: PurgeResult) -> list[str]:
    """What was removed (or would be, in a dry run), counts first."""
    verb = "would remove" if result.dry_run else "removed"
    lines = [
        f"{verb} content older than {result.days} days (before {iso_z(result.cutoff)}):",
        f"  messages: {result.messages} (snippet, subject, sender name)",
        f"  quarantined items: {result.quarantine_raw} raw, {result.quarantine_errors} error details",
    ]
    if result.awaiting_review:
        lines.append(
            f"  note: {result.awaiting_review} of those messages await review; their text is "
            + ("going" if result.dry_run else "gone")
        )
    if result.dry_run:
        lines.append("dry run: nothing was changed")
    return lines
