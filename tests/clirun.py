"""Running `replywatch` as a user does: a subprocess with a clean environment, its output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import create_engine, text
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
    """`python -m replywatch ARGS`; the session's REPLYWATCH_* (and other `scrub`) variables are dropped
    so that only `env` configures it."""
    return subprocess.run(
        [sys.executable, "-m", "replywatch", *args],
        cwd=cwd,
        env=clean_env(env, scrub),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


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
