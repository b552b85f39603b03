"""`funnel import`: the CRM's appointments, shows and solds per lead, for the digest's funnel."""

from __future__ import annotations

from pathlib import Path

import typer

from replywatch.cli.context import console, runtime
from replywatch.errors import ReplywatchError

funnel_app = typer.Typer(help="CRM funnel events: appointment, show, sold.", no_args_is_help=True)
_SHOWN_UNKNOWN = 5


def register(app: typer.Typer) -> None:
    app.add_typer(funnel_app, name="funnel")
    funnel_app.command("import")(funnel_import)


def funnel_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with lead_id,event,at (and optionally source)."),
) -> None:
    """Import CRM events; a bad row refuses the file, rows of leads replywatch has not seen are skipped."""
    if not file.is_file():
        raise ReplywatchError(f"{file}: no such file")
    from replywatch.reports.funnel import read_funnel_file
    from replywatch.store.funnel import import_funnel

    rt = runtime(ctx)
    records = read_funnel_file(file)
    with rt.sessions() as session, session.begin():
        result = import_funnel(session, records)
    console.print(
        f"imported {result.added} events" + (f" ({result.known} already known)" if result.known else "")
    )
    if result.unknown_leads:
        shown = ", ".join(result.unknown_leads[:_SHOWN_UNKNOWN])
        more = (
            f" and {len(result.unknown_leads) - _SHOWN_UNKNOWN} more" if len(result.unknown_leads) > 5 else ""
        )
        console.print(f"skipped {len(result.unknown_leads)} lead ids replywatch has not seen: {shown}{more}")
