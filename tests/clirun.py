"""Running `replywatch` as a user does, its output captured: in this process (`cli`), or as a subprocess
with a clean environment (`replywatch`) where a real process matters (signals, kills, exit on a crash).

`cli` runs the same entry point as `python -m replywatch` (`replywatch.cli.app.main`: a ReplywatchError is
one line on stderr and exit code 1) with Typer's CliRunner isolation: stdin, stdout and stderr captured,
the session's REPLYWATCH_* (and other `scrub`) variables removed and `env` set for the call, `cwd` the
working directory. What it returns looks like the subprocess's CompletedProcess, so a test can use either.
It saves a fresh interpreter per command (about half a second of imports each)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

SCRUBBED = ("REPLYWATCH_",)


def clean_env(env: Mapping[str, str] | None = None, scrub: tuple[str, ...] = SCRUBBED) -> dict[str, str]:
    """This process's environment without the scrubbed variables, plus `env`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(scrub)}
    full_env.update(env or {})
    return full_env


def replywatch(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    scrub: tuple[str, ...] = SCRUBBED,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`python -m replywatch ARGS` as a subprocess; the session's REPLYWATCH_* (and other `scrub`)
    variables are dropped so that only `env` configures it."""
    return subprocess.run(
        [sys.executable, "-m", "replywatch", *args],
        cwd=cwd,
        env=clean_env(env, scrub),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    scrub: tuple[str, ...] = SCRUBBED,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`replywatch ARGS` run in this process, as `replywatch()` runs it in a subprocess (same arguments,
    same kind of result). An exception the entry point lets through is a traceback on stderr and exit
    code 1, as the interpreter would make it."""
    from typer.testing import CliRunner

    from replywatch.cli.app import main

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith(scrub)}
    overrides.update(env or {})
    argv = ["replywatch", *args]
    code = 0
    with (
        CliRunner().isolation(env=overrides) as (out, err, _),
        _working_directory(cwd),
        _argv(argv),
        _own_logging(),
        _engines_disposed(),
    ):
        try:
            main()
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException:
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode(errors="replace")
    done = subprocess.CompletedProcess(argv, code, stdout, stderr)
    if check:
        done.check_returncode()
    return done


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message"): the message on stderr, exit code 1
    return 1


@contextlib.contextmanager
def _working_directory(cwd: Path | None) -> Iterator[None]:
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    before = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = before


@contextlib.contextmanager
def _own_logging() -> Iterator[None]:
    """The root logger as a fresh process has it (no handlers), so that the command's
    `logging.basicConfig` writes its warnings to the captured stderr; pytest's own handlers and level
    are put back afterwards, and what the command added is removed."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@contextlib.contextmanager
def _engines_disposed() -> Iterator[None]:
    """The engines the command connected with are disposed when it returns, as its process would end:
    no pooled connection outlives the command (a later DROP SCHEMA, another process's lock)."""
    used: weakref.WeakSet[Engine] = weakref.WeakSet()

    def record(conn: object) -> None:
        used.add(conn.engine)  # type: ignore[attr-defined]

    event.listen(Engine, "engine_connect", record)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", record)
        for engine in list(used):
            engine.dispose()


def committed_cursors(db_url: str) -> int:
    """How many source cursors a poll has committed: 0 until its first batch (or the schema) is in."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM source_cursors")).scalar_one())
    except DBAPIError:
        return 0  # not created yet
    finally:
        engine.dispose()
