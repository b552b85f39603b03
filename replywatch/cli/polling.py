"""`poll --once`, `run` and `status`: reading the sources and showing their health."""

from __future__ import annotations

import json
import signal
import threading
from datetime import date
from types import FrameType

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from replywatch.cli.context import Runtime, console, err_console, runtime
from replywatch.clock import now
from replywatch.digest.schedule import send_due_digests
from replywatch.errors import ReplywatchError, SourceError
from replywatch.pipeline import Pipeline, PollResult
from replywatch.sources.base import Source
from replywatch.sources.factory import build_source
from replywatch.status import source_health


def register(app: typer.Typer) -> None:
    app.command()(poll)
    app.command()(run)
    app.command()(status)


def poll(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Poll each source until caught up, then exit."),
    source: str | None = typer.Option(None, "--source", help="Only this source (by name)."),
    since: str | None = typer.Option(
        None, "--since", help="Backfill: IMAP sources read only mail that arrived on or after YYYY-MM-DD."
    ),
) -> None:
    """Poll the sources until caught up, then exit 0 (non-zero if a source failed)."""
    if not once:
        raise ReplywatchError("poll needs --once; `replywatch run` polls continuously")
    rt = runtime(ctx)
    failed = _poll_all(rt, source, show_progress=True, since=_day(since) if since else None)
    if failed:
        raise typer.Exit(1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReplywatchError(f"--since: expected a day as YYYY-MM-DD, got {text!r}") from None


def _poll_all(rt: Runtime, only: str | None, show_progress: bool, since: date | None = None) -> list[str]:
    settings = rt.settings
    configs = [settings.source(only)] if only else list(settings.sources)
    if not configs:
        raise ReplywatchError("no sources configured: add a [[sources]] table to the configuration")
    pipeline = Pipeline(rt.sessions, settings, rt.rules())
    failed = []
    for cfg in configs:
        if since and cfg.type == "imap":
            cfg = cfg.model_copy(update={"since": since})
        try:
            result = _poll_one(pipeline, cfg.name, build_source(cfg), show_progress)
        except SourceError as exc:
            err_console.print(f"[red]{cfg.name}:[/red] {exc}", highlight=False)
            failed.append(cfg.name)
            continue
        line = f"{cfg.name}: {result.stored} new items, {result.leads} new leads"
        if result.quarantined:
            line += f", [yellow]{result.quarantined} quarantined[/yellow] (see `replywatch status`)"
        console.print(line)
    return failed


class _RateColumn(ProgressColumn):
    """Messages per second, the figure a backfill is judged by."""

    def render(self, task: Task) -> Text:
        rate = task.completed / task.elapsed if task.elapsed and task.completed else 0.0
        return Text(f"{rate:,.0f} messages/s", style="progress.data.speed")


def _poll_one(pipeline: Pipeline, name: str, src: Source, show_progress: bool) -> PollResult:
    """A source that knows how much it will read (`progress_total`, e.g. IMAP after searching its
    folders) gets a bar with rate and ETA; any other a counter."""
    if not show_progress or not console.is_terminal:
        return pipeline.poll(src)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{name}: reading", total=None)

        def report(r: PollResult) -> None:
            total: int | None = getattr(src, "progress_total", None)
            described = f"{name}: {r.stored} stored" + (
                f", {r.quarantined} quarantined" if r.quarantined else ""
            )
            progress.update(task, completed=r.seen, total=total, description=described)

        return pipeline.poll(src, progress=report)


def run(
    ctx: typer.Context,
    interval: int | None = typer.Option(None, help="Seconds between polls (default: each source's)."),
) -> None:
    """The daemon: poll every source on its interval and send the Monday digest when due, until SIGTERM."""
    rt = runtime(ctx)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    wait = interval or min((getattr(s, "interval", 60) for s in rt.settings.sources), default=60)
    console.print(f"replywatch running: {len(rt.settings.sources)} sources, every {wait} s")
    while not stop.is_set():
        _round(rt)
        stop.wait(wait)
    console.print("replywatch stopped")


def _round(rt: Runtime) -> None:
    """One round of the daemon; a failure is reported and the next round tries again."""
    try:
        _poll_all(rt, None, show_progress=False)
        for o in send_due_digests(rt.sessions, rt.settings, now()):
            console.print(f"digest {o.scope} week of {o.week}: {o.status} {o.detail}", highlight=False)
    except ReplywatchError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)


def status(
    ctx: typer.Context,
    format: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Per source: last success, consecutive failures, last error; quarantine and lead counts."""
    rt = runtime(ctx)
    with rt.sessions() as session:
        report = source_health(session, [s.name for s in rt.settings.sources], now())
    if format == "json":
        console.print_json(json.dumps(report))
    else:
        _print_status(report)
    if report["failing"]:
        raise typer.Exit(1)


def _print_status(report: dict[str, object]) -> None:
    table = Table(title="Sources")
    for column in ("Source", "Last success", "Failures", "Items", "Last error"):
        table.add_column(column)
    for src in report["sources"]:  # type: ignore[attr-defined]
        table.add_row(
            src["name"],
            src["last_success_at"] or "never",
            str(src["consecutive_failures"]),
            str(src["items_total"]),
            src["last_error"] or "",
        )
    console.print(table)
    console.print(
        f"leads: {report['leads']}, contacted: {report['contacted']}, "
        f"review backlog: {report['review_backlog']}, quarantined: {report['quarantined']}"
    )
    for q in report["recent_quarantine"]:  # type: ignore[attr-defined]
        console.print(f"  quarantined {q['at']} {q['position']}: {q['error']}", highlight=False)
    for d in report["digests"]:  # type: ignore[attr-defined]
        error = f": {d['last_error']}" if d["last_error"] else ""
        console.print(f"  digest {d['scope']} week of {d['week']}: {d['status']}{error}", highlight=False)
