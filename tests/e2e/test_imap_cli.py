"""`replywatch poll --once` on a real IMAP inbox: killed midway and rerun, and a backfill with its bar.

The killed poll and the backfill in a terminal are real processes; the other commands run in this
process (clirun.cli)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from clirun import clean_env, cli, committed_cursors
from clirun import replywatch as run_replywatch

from replywatch.demo import write_sample_dealership

if TYPE_CHECKING:
    from servers.dovecot import Account, Dovecot

pytest_plugins = ["servers.dovecot"]


def replywatch(config: Path, db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {"REPLYWATCH_DATABASE_URL": db_url, **env}
    return cli("--config", str(config), *args, env=full_env, check=True)


def in_a_terminal(config: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A subprocess whose output rich treats as a terminal's (TTY_COMPATIBLE): the progress bar."""
    env = {"REPLYWATCH_DATABASE_URL": db_url, "TTY_COMPATIBLE": "1", "NO_COLOR": "1"}
    return run_replywatch("--config", str(config), *args, env=env, timeout=300, check=True)


def imap_config(root: Path, sample_config: Path, account: Account) -> Path:
    """The sample dealership's stores and associates, reading its lead inbox over IMAP."""
    head = sample_config.read_text().split("[[sources]]", 1)[0]
    source = account.source()
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in source.items())
    config = root / "replywatch.toml"
    config.write_text(f"{head}\n[[sources]]\n{table}\n")
    return config


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot) -> tuple[Path, str]:
    """Six weeks of the sample dealership's mail (INBOX and Sent) in Dovecot, and a clean run's export."""
    root = tmp_path_factory.mktemp("imap-cli")
    sample = write_sample_dealership(root / "site", seed=11, end=date(2026, 11, 30), weeks=6)
    account = dovecot.account()
    account.import_maildir(sample.maildir)
    config = imap_config(root, sample.config_path, account)
    clean_url = f"sqlite:///{root / 'clean.db'}"
    replywatch(config, clean_url, "poll", "--once")
    return config, replywatch(config, clean_url, "contacts", "export").stdout


def test_sigkill_midway_then_rerun_equals_a_clean_run(inbox: tuple[Path, str], db_url: str) -> None:
    # Given the inbox over IMAP and the export of one clean run over it
    config, clean = inbox
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
    replywatch(config, db_url, "poll", "--once")
    # Then the export is exactly the clean run's (and the kill did land mid-poll)
    assert was_running, "the poll finished before it could be killed: the test needs more mail"
    assert replywatch(config, db_url, "contacts", "export").stdout == clean
    assert clean.count("\n") > 50


def test_backfill_since_a_day_shows_rate_and_eta(inbox: tuple[Path, str], tmp_path: Path) -> None:
    # Given the same inbox and an empty database
    config, _ = inbox
    db_url = f"sqlite:///{tmp_path / 'backfill.db'}"
    # When the last two weeks are backfilled in a terminal
    done = in_a_terminal(config, db_url, "poll", "--once", "--since", "2026-11-16")
    # Then the bar showed messages/s and an ETA, and only the last two weeks' mail was read
    assert "messages/s" in done.stdout and "ETA" in done.stdout
    everything = replywatch(config, f"sqlite:///{tmp_path / 'all.db'}", "poll", "--once").stdout
    assert 0 < new_items(done.stdout) < new_items(everything) / 2


def new_items(output: str) -> int:
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    found = re.search(r"lead-inbox: (\d+) new items?", plain)
    assert found, output
    return int(found[1])
