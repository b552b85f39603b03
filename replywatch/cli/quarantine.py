"""`replywatch quarantine list | show ID | retry [ID…] | drop ID`: working the items no source could store."""

from __future__ import annotations

import json

import typer

from replywatch.cli.context import console, err_console, runtime
from replywatch.cli.output import local_time, print_table
from replywatch.clock import iso_z, now
from replywatch.errors import ReplywatchError

quarantine_app = typer.Typer(
    help="Items a source could not store (a mail that does not parse, a bad SMS row), kept with why.",
    no_args_is_help=True,
)
SHOWN_LINES = 40
_ID = typer.Argument(..., metavar="ID", help="The item's id (from `quarantine list`).")


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context, format: str = typer.Option("table", "--format", help="table or json.")
) -> None:
    """Every quarantined item, oldest first: id, source, when, where it was read, why it was refused."""
    from replywatch.store.quarantine import quarantined

    rt = runtime(ctx)
    with rt.sessions() as session:
        items = quarantined(session)
    if format == "json":
        rows = [
            {
                "id": q.id,
                "source": q.source,
                "at": iso_z(q.created_at),
                "position": q.position,
                "error": q.error,
            }
            for q in items
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if format != "table":
        raise ReplywatchError(f"--format must be table or json, not {format!r}")
    zone = rt.zone()
    rows_shown = [[str(q.id), q.source, local_time(q.created_at, zone), q.position, q.error] for q in items]
    print_table(
        f"Quarantine: {len(items)} item(s)", ("id", "source", "at", "position", "error"), rows_shown, {"id"}
    )


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, item_id: int = _ID) -> None:
    """One item: where it was read, why it was refused, and the start of its raw content."""
    from replywatch.store.quarantine import quarantined

    rt = runtime(ctx)
    with rt.sessions() as session:
        found = quarantined(session, [item_id])
    if not found:
        raise ReplywatchError(f"no quarantined item {item_id} (see `replywatch quarantine list`)")
    q = found[0]
    console.print(f"quarantined item {q.id} of {q.source}, {local_time(q.created_at, rt.zone())}")
    console.print(f"read at: {q.position}")
    console.print(f"refused: {q.error}")
    if q.raw is None:
        console.print("(its raw content was purged)")
        return
    lines = q.raw.decode("utf-8", "replace").splitlines()
    console.print(f"raw content ({len(q.raw)} bytes):")
    for line in lines[:SHOWN_LINES]:
        console.print("  " + line)
    if len(lines) > SHOWN_LINES:
        console.print(f"  … {len(lines) - SHOWN_LINES} more lines")


@quarantine_app.command("retry")
def quarantine_retry(
    ctx: typer.Context,
    ids: list[int] | None = typer.Argument(None, metavar="[ID]...", help="Items to retry (default: all)."),
) -> None:
    """Read items again from their kept raw content, after fixing a rule or upgrading replywatch; those
    that store leave the quarantine, the others stay with the new reason. Exits 1 when one failed."""
    from replywatch.ingest.retry import Retrier

    rt = runtime(ctx)
    done = Retrier(rt.sessions, rt.settings, rt.rules(), rt.directory(), now()).retry(ids or None)
    for item_id, reason in done.failed:
        err_console.print(f"item {item_id}: still refused: {reason}")
    console.print(f"{len(done.stored)} stored, {len(done.failed)} still quarantined")
    if done.failed:
        raise typer.Exit(1)


@quarantine_app.command("drop")
def quarantine_drop(ctx: typer.Context, item_id: int = _ID) -> None:
    """Forget an item for good: its source will not offer it again."""
    from replywatch.store.db import batch_transaction
    from replywatch.store.quarantine import drop

    rt = runtime(ctx)
    with batch_transaction(rt.sessions) as session:
        if not drop(session, item_id):
            raise ReplywatchError(f"no quarantined item {item_id} (see `replywatch quarantine list`)")
    console.print(f"dropped quarantined item {item_id}")
