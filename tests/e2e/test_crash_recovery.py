"""`poll --once` killed with SIGKILL midway, then run again, gives the export of one clean run.

The killed poll is a real process; the clean run, the rerun and the exports run in this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from clirun import clean_env, cli, committed_cursors

from replywatch.demo import write_sample_dealership


def _replywatch(config: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"REPLYWATCH_DATABASE_URL": db_url}
    return cli("--config", str(config), *args, env=env, check=True)


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Twelve weeks of the sample dealership (about 1,400 mails and texts) and its clean export."""
    root = tmp_path_factory.mktemp("crash")
    sample = write_sample_dealership(root / "site", seed=11, end=date(2026, 11, 30), weeks=12)
    clean_url = f"sqlite:///{root / 'clean.db'}"
    _replywatch(sample.config_path, clean_url, "poll", "--once")
    return sample.config_path, _replywatch(sample.config_path, clean_url, "contacts", "export").stdout


def test_sigkill_midway_then_rerun_equals_a_clean_run(clean_run: tuple[Path, str], db_url: str) -> None:
    # Given the sample dealership and the export of one clean run over it
    config, clean = clean_run
    # When a poll is killed with SIGKILL once its first batch has committed
    proc = subprocess.Popen(
        [sys.executable, "-m", "replywatch", "--config", str(config), "poll", "--once"],
        env=clean_env({"REPLYWATCH_DATABASE_URL": db_url}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while committed_cursors(db_url) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    was_running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # And the poll is run again to the end
    _replywatch(config, db_url, "poll", "--once")
    # Then the export is exactly the clean run's (and the kill did land mid-poll)
    assert was_running, "the poll finished before it could be killed: the test needs more data"
    assert _replywatch(config, db_url, "contacts", "export").stdout == clean
