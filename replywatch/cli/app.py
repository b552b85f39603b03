"""The `replywatch` command: global options, the command groups, and errors turned into exit codes."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperOption

from replywatch.cli import (
    classify,
    data,
    digest,
    funnel,
    lead_story,
    messages,
    notify,
    polling,
    purge,
    quarantine,
    report,
    review,
    setup,
)
from replywatch.cli.context import Runtime, err_console
from replywatch.errors import ReplywatchError


def _flags_without_metavar() -> None:
    """`--debug` in `--help`, not `--debug <bool>`: Typer shows a type beside every option, and a flag
    takes no value. (Its TyperOption has no setting for this; the one method is wrapped, once.)"""
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_without_metavar()

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
    """Global options (also accepted after the subcommand)."""
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
messages.register(app)
lead_story.register(data.leads_app)
quarantine.register(app)
notify.register(app)


# Global options a user may write after the subcommand (`replywatch status --config x.toml`): moved in
# front of it before Typer parses, since Click reads a group's options only before its subcommand.
_GLOBAL_VALUED = ("--config", "-c")
_GLOBAL_FLAGS = ("--debug",)


def hoist_global_options(args: list[str]) -> list[str]:
    """ARGS with every global option (and its value) moved to the front; what follows `--` stays put."""
    front: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            rest += args[position:]
            break
        takes_value = arg in _GLOBAL_VALUED and position + 1 < len(args)
        if arg in _GLOBAL_FLAGS or arg.split("=", 1)[0] in _GLOBAL_VALUED or takes_value:
            end = position + (2 if takes_value else 1)
            front += args[position:end]
            position = end
            continue
        rest.append(arg)
        position += 1
    return front + rest


def main() -> None:
    """Console entry point: a ReplywatchError is one line on stderr and exit code 1."""
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="replywatch")
    except ReplywatchError as exc:
        if _state["debug"]:
            raise
        for line in str(exc).splitlines() or [""]:  # several configuration errors: one line each
            err_console.print(Text.assemble(("error:", "red"), f" {line}"))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
