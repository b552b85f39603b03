"""`poll --once`, `run` and `status`: reading the sources and showing their health."""

from __future__ import annotations

import json
import logging
from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any

import typer

from replywatch.cli.context import Runtime, console, err_console, runtime
from replywatch.cli.output import counted, local_time, print_table
from replywatch.clock import now
from replywatch.errors import ReplywatchError, SourceError

if TYPE_CHECKING:
    from replywatch.ingest.pipeline import Pipeline, PollResult
    from replywatch.sources.base import Source

# The pipeline, the daemon, the sources and the progress bar are imported by the commands that use them:
# `status` and every `--help` start without them.


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
    from replywatch.ingest.pipeline import Pipeline
    from replywatch.sources.factory import build_source

    settings = rt.settings
    configs = [settings.source(only)] if only else list(settings.sources)
    if not configs:
        raise ReplywatchError(
            f"no sources configured in {rt.config_path}: uncomment one of its [[sources]] examples"
        )
    pipeline = Pipeline(rt.sessions, settings, rt.rules(), rt.directory())
    failed = []
    for cfg in configs:
        if since and cfg.type == "imap":
            cfg = cfg.model_copy(update={"since": since})
        try:
            result = _poll_one(pipeline, cfg.name, build_source(cfg), show_progress)
        except SourceError as exc:
            err_console.print(f"{cfg.name}: {exc}")
            failed.append(cfg.name)
            continue
        line = f"{cfg.name}: {counted(result.stored, 'new item')}, {counted(result.leads, 'new lead')}"
        if result.updated:
            line += f", {result.updated} statuses updated"
        if result.elsewhere:
            line += f", {result.elsewhere} already stored from another source"
        if result.quarantined:
            line += f", {result.quarantined} quarantined (see `replywatch quarantine list`)"
        console.print(line)
    return failed


def _poll_one(pipeline: Pipeline, name: str, src: Source, show_progress: bool) -> PollResult:
    """A source that knows how much it will read (`progress_total`, e.g. IMAP after searching its
    folders) gets a bar with rate and ETA; any other a counter."""
    if not show_progress or not console.is_terminal:
        return pipeline.poll(src)
    from replywatch.cli.progress import progress_bar

    with progress_bar() as progress:
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
    interval: int | None = typer.Option(
        None, help="Seconds between polls of every source (default: each source's)."
    ),
    log_format: str = typer.Option(
        "text", "--log-format", help="text (readable lines) or json (one object per line)."
    ),
) -> None:
    """The daemon: each source on its schedule (IMAP in IDLE), the Monday digest, until SIGTERM.

    SIGTERM/SIGINT finish the item in hand, commit and exit 0; SIGHUP reloads configuration and rules.
    """
    from replywatch.daemon.logs import setup_logging
    from replywatch.daemon.runner import Daemon
    from replywatch.store.db import secrets_of

    rt = runtime(ctx)
    settings = rt.settings
    level = logging.DEBUG if rt.debug else logging.INFO
    handler = setup_logging(log_format, level, secrets_of(settings), zone=rt.zone())
    daemon = Daemon(rt.config_path, lambda _s: Runtime(rt.config_path).rules_dir(), interval, handler)
    raise typer.Exit(daemon.run(settings, rt.rules()))


def status(
    ctx: typer.Context,
    format: str = typer.Option("table", "--format", help="table or json."),
    check: bool = typer.Option(
        False,
        "--check",
        help="Health check for docker/systemd: one line, exit 1 unless every source is polled.",
    ),
) -> None:
    """Per source: last success, lag, consecutive failures, last error, lease; review backlog, digests.

    Exits 1 when a source or a digest is failing, for monitoring."""
    from replywatch.reports.status import source_health

    rt = runtime(ctx)
    limits = {s.name: rt.settings.daemon.stall_limit(s.interval) for s in rt.settings.sources}
    with rt.sessions() as session:
        report = source_health(session, list(limits), now(), limits)
    if check:
        _health_check(report)
    if format == "json":
        console.print_json(json.dumps(report))
    else:
        _print_status(report, rt.zone())
    if report["failing"]:
        raise typer.Exit(1)


def _health_check(report: dict[str, Any]) -> None:
    """ok, or what is wrong: failing sources or digests, sources nobody has polled for three intervals."""
    problems = [f"{name} failing" for name in report["failing"]]
    problems += [f"{name} not polled lately" for name in report["stalled"] if name not in report["failing"]]
    if problems:
        console.print("unhealthy: " + "; ".join(problems), highlight=False)
        raise typer.Exit(1)
    console.print(f"ok: {len(report['sources'])} sources polled, review backlog {report['review_backlog']}")
    raise typer.Exit(0)


def _print_status(report: dict[str, Any], zone: tzinfo) -> None:
    rows = []
    for src in report["sources"]:
        error = src["last_error"] or ""
        if src["paused"]:
            error = f"paused (fix the configuration, then reload): {error}"
        rows.append(
            [
                src["name"],
                local_time(src["last_success_at"], zone) or "never",
                _lag(src["lag_s"]),
                str(src["consecutive_failures"]),
                str(src["items_total"]),
                src["lease_owner"] or "",
                error,
            ]
        )
    columns = ("Source", "Last success", "Lag", "Failures", "Items", "Held by", "Last error")
    print_table("Sources", columns, rows, right={"Failures", "Items"})
    console.print(
        f"leads: {report['leads']}, contacted: {report['contacted']}, "
        f"review backlog: {report['review_backlog']}, quarantined: {report['quarantined']}, "
        f"replies matching no lead: {report['unmatched_replies']} (replywatch messages list --unmatched)"
    )
    for q in report["recent_quarantine"]:
        console.print(f"  quarantined {local_time(q['at'], zone)} {q['position']}: {q['error']}")
    if report["stalled"]:
        console.print(f"  not polled lately: {', '.join(report['stalled'])}")
    for d in report["digests"]:
        error = f": {d['last_error']}" if d["last_error"] else ""
        console.print(f"  digest {d['scope']} week of {d['week']}: {d['status']}{error}")
    for n in report["notify"]:
        console.print(
            f"  notify {n['target']}: {n['pending']} pending, {n['failing']} failing, "
            f"{n['given_up_24h']} given up in 24 h (replywatch notify status)"
        )


def _lag(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
