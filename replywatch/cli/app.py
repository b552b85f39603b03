"""The `replywatch` command: global options, the command groups, and errors turned into exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from replywatch.cli import classify, data, digest, funnel, polling, purge, report, review, setup
from replywatch.cli.context import Runtime, err_console
from replywatch.errors import ReplywatchError

app = typer.Typer(
    name="replywatch",
    help="Measures Contact: matches customers' replies to their leads and reports time-to-contact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_state = {"debug": False}


@app.callback()
def _root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Configuration file (default $REPLYWATCH_CONFIG or ./replywatch.toml)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    """Global options."""
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    ctx.obj = Runtime(config, debug=debug)  # the configuration is found and read when a command needs it


setup.register(app)
polling.register(app)
data.register(app)
digest.register(app)
funnel.register(app)
report.register(app)
review.register(app)
classify.register(app)
purge.register(app)


def main() -> None:
    """Console entry point: a ReplywatchError is one line on stderr and exit code 1."""
    try:
        app()
    except ReplywatchError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
