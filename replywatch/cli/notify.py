"""`replywatch notify send --once | status | replay --since TS [--target NAME]`: the outbox by hand."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import Runtime, console, err_console, runtime
from replywatch.cli.output import local_time, parse_instant, print_table
from replywatch.clock import iso_z, now
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    from replywatch.reports.notify import TargetState

notify_app = typer.Typer(
    help="Alerts and lead events for Slack, Teams, email and webhooks ([[notify]] in the configuration).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")


@notify_app.command("send")
def notify_send(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Raise due alerts, deliver what is due, then exit."),
) -> None:
    """Raise the alerts that are due and deliver every event due now, then exit (for cron, or to see a
    target work); `replywatch run` does this continuously. Exits 1 when a delivery failed: it is retried
    later (see `notify status`)."""
    if not once:
        raise ReplywatchError(
            "notify send delivers once and exits: pass --once (`replywatch run` delivers all along)"
        )
    from replywatch.notify.deliver import Notifier
    from replywatch.store.digest_runs import worker_id

    rt = runtime(ctx)
    settings = rt.settings
    if not settings.notify:
        err_console.print("no [[notify]] targets configured: nothing to deliver to")
    raised = _raise_alerts(rt)
    if raised:
        console.print("alerts raised: " + ", ".join(f"{k} {v}" for k, v in sorted(raised.items())))
    done = Notifier(rt.sessions, settings, rt.directory(), worker_id()).drain(now)
    console.print(f"{done.delivered} delivered, {done.failed + done.gave_up} failed")
    for line in dict.fromkeys(done.errors):  # one line per distinct reason
        err_console.print(f"  {line}")
    if done.failed or done.gave_up:
        raise typer.Exit(1)


def _raise_alerts(rt: Runtime) -> dict[str, int]:
    from replywatch.notify.alerts import raise_alerts

    raised = raise_alerts(rt.sessions, rt.settings, rt.directory(), now())
    return {k: v for k, v in raised.counts.items() if v}


@notify_app.command("status")
def notify_status(
    ctx: typer.Context, format: str = typer.Option("table", "--format", help="table or json.")
) -> None:
    """Per target: deliveries waiting, failing (retrying), failed (given up), delivered in the last 24
    hours, the next attempt and the last error. Never a URL or secret."""
    from replywatch.reports.notify import TargetState, target_states

    rt = runtime(ctx)
    configured = {t.name: t.type for t in rt.settings.notify}
    with rt.sessions() as session:
        states = {s.target: s for s in target_states(session, now())}
    names = [*configured, *sorted(set(states) - set(configured))]
    rows = [(n, configured.get(n), states.get(n) or TargetState.empty(n)) for n in names]
    if format == "json":
        print(json.dumps([_json(n, kind, s) for n, kind, s in rows], indent=2))
        return
    if format != "table":
        raise ReplywatchError(f"--format must be table or json, not {format!r}")
    if not rows:
        console.print("no [[notify]] targets configured and nothing in the outbox")
        return
    zone = rt.zone()
    print_table(
        "Notification targets",
        ("target", "type", "pending", "failing", "failed", "delivered 24h", "next retry", "last error"),
        [_row(n, kind, s, zone) for n, kind, s in rows],
        {"pending", "failing", "failed", "delivered 24h"},
    )


def _json(name: str, kind: str | None, s: TargetState) -> dict[str, object]:
    return {
        "target": name,
        "type": kind,
        "configured": kind is not None,
        "pending": s.pending,
        "failing": s.failing,
        "failed": s.failed,
        "delivered_24h": s.delivered_24h,
        "oldest_pending_at": iso_z(s.oldest_pending_at) or None,
        "next_retry_at": iso_z(s.next_retry_at) or None,
        "last_error": s.last_error,
        "last_error_at": iso_z(s.last_error_at) or None,
        "last_delivered_at": iso_z(s.last_delivered_at) or None,
    }


def _row(name: str, kind: str | None, s: TargetState, zone: tzinfo) -> list[str]:
    error = f"{s.last_error} ({local_time(s.last_error_at, zone)})" if s.last_error else ""
    return [
        name,
        kind or "not configured",
        str(s.pending),
        str(s.failing),
        str(s.failed),
        str(s.delivered_24h),
        local_time(s.next_retry_at, zone),
        error,
    ]


@notify_app.command("replay")
def notify_replay(
    ctx: typer.Context,
    since: str = typer.Option(
        ..., "--since", help="ISO 8601 time; events that occurred since then (naive: the first store's time)."
    ),
    target: list[str] | None = typer.Option(None, "--target", help="Only this target (repeatable)."),
) -> None:
    """Send again the events that occurred since a time, to every target that subscribes to them (or
    only --target): after a receiver lost data, or to give a new target the history. Delivered by
    `replywatch run` or `notify send --once`; receivers deduplicate by the event's `id`."""
    from replywatch.store.outbox import replay

    rt = runtime(ctx)
    at = parse_instant(since, "--since", rt.zone())
    subscriptions = rt.directory().subscriptions
    if target:
        known = {s.name for s in subscriptions}
        unknown = [t for t in target if t not in known]
        if unknown:
            names = ", ".join(sorted(known)) or "none configured"
            raise ReplywatchError(f"--target: no [[notify]] target named {unknown[0]!r} (targets: {names})")
        subscriptions = tuple(s for s in subscriptions if s.name in target)
    if not subscriptions:
        raise ReplywatchError("no [[notify]] targets configured: nothing to replay to")
    with rt.sessions() as session, session.begin():
        queued = replay(session, at, subscriptions, now())
    total = sum(queued.values())
    detail = ", ".join(f"{name} {count}" for name, count in queued.items())
    console.print(f"queued {total} deliveries of events since {local_time(at, rt.zone())}: {detail}")
