"""The first hour of a new dealership, scripted: a fresh clone, `make demo`, `init` into a new folder, an
Excel-style leads CSV, `status --config …` after the subcommand, a deliberate wrong IMAP password. Every
command is a real process, as a user types it, and what it prints must read clean: no traceback, no
Python bytes repr, no `<bool>`, no table drawn letter by letter, every suggested command runnable.

The clone borrows this run's virtual environment (linked as its .venv, so `make` does not rebuild it):
installing from scratch is what tests/e2e/test_install.py does."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from clirun import clean_env

if TYPE_CHECKING:
    from servers.dovecot import Account

pytest_plugins = ["servers.dovecot"]
REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def fresh_clone(tmp: Path) -> Path:
    junk = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", ".*_cache", "build", "demo")
    clone = Path(shutil.copytree(REPO, tmp / "replywatch", ignore=junk))
    (clone / ".venv").symlink_to(VENV)
    return clone


def shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One command line as the user types it; its output must read clean whatever its exit code."""
    done = subprocess.run(shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    said = done.stdout + done.stderr
    assert "Traceback" not in said and "b'" not in said and "<bool>" not in said, f"{command}:\n{said}"
    assert not BOX_DRAWING.search(said), f"{command}: a table drawn for a terminal went to a pipe:\n{said}"
    return done


def test_the_first_hour_reads_clean(tmp_path: Path, account: Account) -> None:
    clone = fresh_clone(tmp_path)
    bin_dir = VENV / "bin"
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != str(bin_dir)]
    env = clean_env({"PATH": os.pathsep.join(path)})  # replywatch is not on PATH after `make`

    # The IT admin tries the demo from a fresh clone, then the commands it suggests
    demo = shell("make demo", clone, env)
    assert demo.returncode == 0 and "Contact by store and associate:" in demo.stdout
    suggested = [
        line.split(":", 1)[1].strip() for line in demo.stdout.splitlines() if line.startswith("try:")
    ]
    suggested += [
        line.strip().split("  (")[0] for line in demo.stdout.splitlines() if line.startswith("     ")
    ]
    assert len(suggested) == 2
    for command in suggested:
        assert shell(command, clone, env).returncode == 0, command
    review = shell(".venv/bin/replywatch review list --config demo/replywatch.toml", clone, env)
    assert "Review queue: 3 item(s):" in review.stdout

    # They write a configuration for the dealership and check it, --config after the subcommand
    init = shell(".venv/bin/replywatch init site", clone, env)
    status_line = next(line.strip() for line in init.stdout.splitlines() if " status --config " in line)
    assert shell(status_line, clone, env).returncode == 0

    # They add the lead inbox, with a password that is wrong
    wrong = tmp_path / "imap-password"
    wrong.write_text("Summer2026!")
    config = clone / "site" / "replywatch.toml"
    inbox = f'name = "lead-inbox"\ntype = "imap"\nhost = "127.0.0.1"\nport = {account.server.port}\n'
    login = f'tls = false\nusername = "{account.user}"\npassword_file = "{wrong}"\n'
    config.write_text(config.read_text() + f"\n[[sources]]\n{inbox}{login}")
    polled = shell(".venv/bin/replywatch poll --once --config site/replywatch.toml", clone, env)
    assert polled.returncode == 1
    [refused] = polled.stderr.strip().splitlines()
    assert refused.startswith(
        f"lead-inbox: {account.user} on 127.0.0.1: login refused ([AUTHENTICATIONFAILED]"
    )
    assert refused.endswith(f"check the username and the password in {wrong}") and "Summer2026" not in refused
    status = shell(".venv/bin/replywatch status --config site/replywatch.toml", clone, env)
    assert status.returncode == 1 and "login refused" in status.stdout

    # The BDC manager imports the week's leads, saved from Excel
    (clone / "leads.csv").write_text(
        "Lead ID;Date Received;First Name;Last Name;E-mail;Phone Number;Lead Source;Salesperson\r\n"
        "W-1;11/30/2026 2:05 PM;Maria;Gonzalez;maria@example.com;(512) 555-0142;Website;Dana\r\n",
        encoding="cp1252",
    )
    imported = shell(".venv/bin/replywatch leads import leads.csv --config site/replywatch.toml", clone, env)
    assert imported.returncode == 0
    assert imported.stdout.strip() == "1 new lead, 0 updated, 0 unchanged"
    assert "associate 'Dana' is not configured (closest configured: 'Dana Lee')" in imported.stderr
