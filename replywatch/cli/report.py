"""`replywatch report --by …`: the digest's figures for any range, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from replywatch.cli.context import console, runtime
from replywatch.cli.output import parse_instant
from replywatch.clock import now
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    pass

FORMATS = ("table", "csv", "json")


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    by: str = typer.Option(..., "--by", help="week, store, associate, source or channel."),
    store: str | None = typer.Option(
        None, "--store", help="One store, or `group` (default: the widest scope)."
    ),
    first: str | None = typer.Option(
        None,
        "--from",
        help="First day, YYYY-MM-DD, store time (default: the Monday 11 weeks before --as-of).",
    ),
    last: str | None = typer.Option(
        None,
        "--to",
        help="End day (excluded), YYYY-MM-DD, store time (default: the day after --as-of).",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="The figures as they stood then, ISO 8601 (no offset: store time; default now)."
    ),
    format: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Leads, contact, 7-day contact (matured groups only), time to contact and opt-outs per group."""
    from replywatch.digest.report import default_range
    from replywatch.digest.report import report as figures
    from replywatch.digest.scope import parse_day, scope_named, scopes

    if format not in FORMATS:
        raise ReplywatchError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    rt = runtime(ctx)
    with rt.sessions() as session:
        scope = scope_named(scopes(session, rt.settings), store)
        at = parse_instant(as_of, "--as-of", scope.zone) if as_of else now()
        start, end = default_range(scope, at)
        start = parse_day(first, "--from") if first else start
        end = parse_day(last, "--to") if last else end
        rows = [f.as_json() for f in figures(session, scope, by, start, end, at)]
    if format == "json":
        print(json.dumps(rows, indent=2))
    elif format == "csv":
        _csv(rows)
    else:
        _table(rows, f"{scope.title}: leads received {start.isoformat()} to {end.isoformat()}, by {by}")


def _csv(rows: list[dict[str, Any]]) -> None:
    from replywatch.reports.cohorts import CohortFigures

    writer = csv.DictWriter(sys.stdout, fieldnames=list(CohortFigures("", 0, 0, 0, True, 0).as_json()))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.table import Table

    from replywatch.digest.present import duration, percent

    table = Table(title=title)
    for column in ("Group", "Leads", "Contacted", "Within 7 days", "Median", "p90", "Opt-outs"):
        table.add_column(column, justify="left" if column == "Group" else "right", no_wrap=column == "Group")
    for r in rows:
        seven = f"{r['contacted_7d']} ({percent(r['contact_rate_7d'])})" if r["matured_7d"] else "not yet"
        table.add_row(
            r["group"],
            str(r["leads"]),
            f"{r['contacted']} ({percent(r['contact_rate'])})",
            seven,
            duration(r["median_time_to_contact_s"]),
            duration(r["p90_time_to_contact_s"]),
            str(r["opted_out"]),
        )
    console.print(table)
