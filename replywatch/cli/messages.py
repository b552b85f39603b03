"""`replywatch messages list --unmatched`: the replies we could not place, so none stays invisible."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import typer

from replywatch.cli.context import console, runtime
from replywatch.clock import iso_z
from replywatch.errors import ReplywatchError

messages_app = typer.Typer(help="Stored messages: the replies that matched no lead.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(messages_app, name="messages")


@messages_app.command("list")
def messages_list(
    ctx: typer.Context,
    unmatched: bool = typer.Option(False, "--unmatched", help="Human replies that match no lead (required)."),
    since: str | None = typer.Option(
        None, "--since", help="Only those sent from this day (YYYY-MM-DD, UTC)."
    ),
    store: str | None = typer.Option(None, "--store", help="Only those written to this store."),
    format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Human replies that match no lead, oldest first; place one with `review attach ID --lead LEAD_ID`."""
    from replywatch.reports.unmatched import unmatched_replies

    if not unmatched:
        raise ReplywatchError("messages list needs --unmatched (the replies that match no lead)")
    if format not in ("table", "json"):
        raise ReplywatchError(f"--format must be table or json, not {format!r}")
    rt = runtime(ctx)
    with rt.sessions() as session:
        replies = unmatched_replies(session, _day(since), None, store)
    if format == "json":
        print(json.dumps([r.to_json() for r in replies], indent=2, ensure_ascii=False))
        return
    from rich.table import Table

    table = Table(title=f"Replies matching no lead: {len(replies)}")
    table.add_column("id", justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("from", overflow="fold", ratio=3)
    table.add_column("store", ratio=2)
    table.add_column("text", ratio=3)
    for r in replies:
        who = f"{r.sender_name} <{r.sender}>" if r.sender_name else r.sender or ""
        at = iso_z(r.at)[:16].replace("T", " ")
        table.add_row(str(r.message_id), at, f"{r.channel}: {who}", r.store or "", r.text[:80])
    console.print(table)
    if replies:
        console.print("place one: replywatch review attach ID --lead LEAD_ID", style="dim")


def _day(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ReplywatchError(f"--since: expected a day as YYYY-MM-DD, got {text!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
