"""`leads import` and `contacts export`: lead files in, one row per lead out."""

from __future__ import annotations

import sys
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from replywatch.cli.context import Runtime, console, err_console, runtime
from replywatch.cli.output import counted, parse_instant
from replywatch.clock import now
from replywatch.errors import ReplywatchError
from replywatch.private_files import private_open

if TYPE_CHECKING:
    from replywatch.parse.leads_csv import MonthFirst
    from replywatch.parse.types import LeadRecord

leads_app = typer.Typer(help="Leads.", no_args_is_help=True)
contacts_app = typer.Typer(help="Contact outcomes.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(leads_app, name="leads")
    app.add_typer(contacts_app, name="contacts")
    leads_app.command("import")(leads_import)
    contacts_app.command("export")(contacts_export)


def _read_lead_file(path: Path, month_first: MonthFirst) -> list[LeadRecord]:
    from replywatch.parse.adf import parse_adf
    from replywatch.parse.leads_csv import read_leads_file

    if not path.is_file():
        raise ReplywatchError(f"{path}: no such file")
    if path.suffix.lower() in (".xml", ".adf"):
        return parse_adf(path.read_bytes(), default_source=path.stem)
    return read_leads_file(path, month_first)


def leads_import(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Leads CSV or ADF/XML file(s)."),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Refuse the files when a line names an unknown associate or store, or a bad address.",
    ),
) -> None:
    """Import leads; a file with a bad row is refused whole, naming the line and column. A lead already
    known is updated from the file. Messages the leads explain are matched again with the rules folder's
    matching policy, as a poll matches them."""
    from replywatch.ingest.lead_import import import_leads, lead_warnings
    from replywatch.store.db import batch_transaction

    rt = runtime(ctx)
    directory, policy = rt.directory(), rt.rules().policy
    month_first = _month_first(rt)
    warnings = []
    records = []
    for f in files:
        read = _read_lead_file(f, month_first)
        warnings += [f"{f}: {w}" for w in lead_warnings(read, directory, rt.settings)]
        records += read
    if warnings and strict:
        raise ReplywatchError(
            "\n".join([*warnings, f"{counted(len(warnings), 'problem')}: nothing imported (--strict)"])
        )
    for warning in warnings:
        err_console.print(Text.assemble(("warning:", "yellow"), f" {warning}"))
    # Matched again like a poll's batch, and in turn with the daemons' batches: each sees the other's rows.
    with batch_transaction(rt.sessions) as session:
        done = import_leads(session, directory, rt.settings, records, now(), policy)
    console.print(f"{counted(done.new, 'new lead')}, {done.updated} updated, {done.unchanged} unchanged")


def _month_first(rt: Runtime) -> MonthFirst:
    """A row's slashed dates are read as its store's region writes them (the first store's when the row
    names none or one not configured)."""
    from replywatch.parse.leads_csv import MONTH_FIRST_REGIONS

    regions = {s.name.casefold(): s.region for s in rt.settings.stores}
    first = rt.settings.default_store
    default = first.region if first else "US"
    return lambda store: regions.get((store or "").strip().casefold(), default) in MONTH_FIRST_REGIONS


def contacts_export(
    ctx: typer.Context,
    format: str = typer.Option("csv", "--format", help="csv or json."),
    out: Path | None = typer.Option(None, "--out", help="File to write (default: standard output)."),
    changed_since: str | None = typer.Option(
        None,
        "--changed-since",
        metavar="TIMESTAMP",
        help="Only the leads whose row changed at or after this time: ISO 8601, e.g. 2026-12-07T14:03:11Z"
        " (a time without Z or an offset is UTC). Pass the time the previous export printed.",
    ),
) -> None:
    """One row per lead: received, first touch, contact and time-to-contact, opt-out, pending review.
    Then, on standard error, the time to pass as --changed-since next time (a nightly CRM import keeps
    it): the next export then has every lead changed since this one, none missed."""
    if format not in ("csv", "json"):
        raise ReplywatchError(f"--format must be csv or json, not {format!r}")
    from replywatch.reports.export import (
        contact_rows,
        next_changed_since,
        since_text,
        write_csv,
        write_json,
    )

    since = parse_instant(changed_since, "--changed-since", UTC) if changed_since is not None else None
    rt = runtime(ctx)
    writer = write_csv if format == "csv" else write_json
    following = next_changed_since(rt.sessions)  # read before the rows: what it misses, the next one has
    with rt.sessions() as session:
        rows = contact_rows(session, since)
        if out is None:
            writer(rows, sys.stdout)
        else:
            with private_open(out, "w", encoding="utf-8", newline="") as fh:
                count = writer(rows, fh)
            console.print(f"wrote {count} leads to {out}", highlight=False)
    err_console.print(f"next: --changed-since {since_text(following)}")
