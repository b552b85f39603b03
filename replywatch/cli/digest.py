"""`digest preview|send|status` and `digest baseline set|show`: the Monday digest by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import Runtime, console, runtime
from replywatch.cli.output import cell as _cell
from replywatch.cli.output import print_table
from replywatch.clock import now
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    from replywatch.digest.scope import Scope

# The digest's modules (SQL, Jinja templates, the chart, SMTP) are imported by the commands that use them.

digest_app = typer.Typer(
    help="The Monday digest: contact, baseline, trend and funnel for managers.", no_args_is_help=True
)
baseline_app = typer.Typer(help="The baseline every digest compares with.", no_args_is_help=True)
_WEEK = typer.Option(..., "--week", help="Monday the week starts on, YYYY-MM-DD (store-local).")
_STORE = typer.Option(
    None, "--store", help="One store by name, or `group` (default: every store and the group)."
)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")
    digest_app.command("preview")(preview)
    digest_app.command("send")(send)
    digest_app.command("status")(status)
    digest_app.add_typer(baseline_app, name="baseline")
    baseline_app.command("set")(baseline_set)
    baseline_app.command("show")(baseline_show)


def _scopes(rt: Runtime, store: str | None) -> list[Scope]:
    from replywatch.digest.scope import scope_named, scopes

    with rt.sessions() as session:
        found = scopes(session, rt.settings)
    chosen = scope_named(found, store)  # also refuses a configuration without stores
    return [chosen] if store else found


def preview(
    ctx: typer.Context,
    week: str = _WEEK,
    out: Path = typer.Option(..., "--out", help="HTML file to write (the chart is inside it)."),
    store: str | None = typer.Option(
        None, "--store", help="One store, or `group` (default: the widest scope)."
    ),
) -> None:
    """Write the digest of one week to an HTML file to open in a browser; nothing is sent."""
    from replywatch.digest.render import write_preview
    from replywatch.digest.scope import parse_day, require_monday

    rt = runtime(ctx)
    monday = require_monday(parse_day(week, "--week"))
    with rt.sessions() as session:
        scope = write_preview(session, rt.settings, monday, out, now(), store)
    console.print(
        f"digest of {scope.title} for the week of {monday.isoformat()} written to {out}", highlight=False
    )


def send(
    ctx: typer.Context,
    week: str = _WEEK,
    dry_run: bool = typer.Option(False, "--dry-run", help="Build and show what would go; send nothing."),
    store: str | None = _STORE,
) -> None:
    """Mail the week's digest to each store's recipients and the roll-up to the group's, once each."""
    from replywatch.digest.scope import parse_day, require_monday
    from replywatch.digest.send import deliver
    from replywatch.store.digest_runs import worker_id

    rt = runtime(ctx)
    monday = require_monday(parse_day(week, "--week"))
    at, failed = now(), False
    targets = _scopes(rt, store)
    for scope in targets:
        if not scope.is_complete(monday, at):
            raise ReplywatchError(f"the week of {monday.isoformat()} has not ended yet for {scope.title}")
    for scope in targets:
        if dry_run:
            _dry_run(rt, scope, monday)
            continue
        outcome = deliver(rt.sessions, rt.settings, scope, monday, at, worker_id(), retry_now=True)
        failed |= outcome.status == "failed"
        console.print(f"{scope.title}: {outcome.status} ({outcome.detail})", highlight=False)
    if failed:
        raise typer.Exit(1)


def _dry_run(rt: Runtime, scope: Scope, monday: date) -> None:
    from replywatch.digest.build import build_digest
    from replywatch.digest.render import render

    with rt.sessions() as session:
        rendered = render(build_digest(session, scope, monday, now(), rt.settings.digest.baseline_weeks))
    to = ", ".join(scope.recipients) or "nobody (no recipients configured)"
    console.print(f"{scope.title}: would send to {to}: {rendered.subject}", highlight=False)


def status(
    ctx: typer.Context,
    format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Each scope's last digest and every one not sent yet, with its error and next attempt."""
    from replywatch.reports.digests import digest_status
    from replywatch.store.digest_runs import FAILED

    rt = runtime(ctx)
    with rt.sessions() as session:
        rows = digest_status(session, now())
    if format == "json":
        console.print_json(json.dumps(rows))
    else:
        columns = ("Scope", "Week", "Status", "Attempts", "Sent", "Next attempt", "Last error")
        keys = ("scope", "week", "status", "attempts", "sent_at", "next_attempt_at", "last_error")
        print_table("Digests", columns, [[_cell(r[k]) for k in keys] for r in rows], right={"Attempts"})
    if any(r["status"] == FAILED for r in rows):
        raise typer.Exit(1)


def baseline_set(
    ctx: typer.Context,
    first: str = typer.Option(..., "--from", help="First week of the baseline (any day of it), YYYY-MM-DD."),
    last: str = typer.Option(..., "--to", help="Last week of the baseline (any day of it), YYYY-MM-DD."),
    store: str | None = typer.Option(
        None, "--store", help="Pin for one store or `group` (default: every one)."
    ),
) -> None:
    """Pin the baseline to a range of complete weeks; pin again to forge a new one."""
    from replywatch.digest.baseline import EVERY_SCOPE, pin_baseline
    from replywatch.digest.scope import parse_day

    rt = runtime(ctx)
    targets = _scopes(rt, store)
    target = targets[0].name if store else EVERY_SCOPE
    with rt.sessions() as session, session.begin():
        pinned = pin_baseline(
            session, targets, target, parse_day(first, "--from"), parse_day(last, "--to"), now()
        )
    who = targets[0].title if store else "every store and the group"
    weeks = f"{pinned.first_week.isoformat()} to {pinned.last_week.isoformat()} ({pinned.weeks} weeks)"
    console.print(f"baseline of {who}: weeks of {weeks}", highlight=False)
    _print_baselines(rt, targets)


def baseline_show(ctx: typer.Context) -> None:
    """Each store's and the group's baseline: its weeks, pinned or not, 7-day contact rate, median."""
    rt = runtime(ctx)
    _print_baselines(rt, _scopes(rt, None))


def _print_baselines(rt: Runtime, targets: list[Scope]) -> None:
    from replywatch.digest.baseline import baseline_range
    from replywatch.digest.build import baseline_figures
    from replywatch.digest.present import duration, rate_text

    rows: list[list[str]] = []
    at, needed = now(), rt.settings.digest.baseline_weeks
    with rt.sessions() as session:
        for scope in targets:
            rng = baseline_range(session, scope, at, needed)
            base = baseline_figures(session, scope, rng, at)
            if rng is None or base is None or base.figures is None:
                have = rng.weeks if rng else 0
                rows.append([scope.title, f"forming ({have} of {needed} weeks)", "", "", ""])
                continue
            f = base.figures
            weeks = f"{rng.first_week.isoformat()} to {rng.last_week.isoformat()}"
            how = "pinned" if rng.pinned else f"first {rng.weeks} matured weeks"
            rows.append([scope.title, weeks, how, rate_text(f.contacted_7d, f.leads), duration(f.median_ttc)])
    columns = ("Scope", "Weeks", "How", "7-day contact rate", "Median time-to-contact")
    print_table("Baselines", columns, rows)
