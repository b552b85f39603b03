"""The `replywatch` command as a user runs it: its output and exit code. Most run in this process
(clirun.cli, the same entry point); the ones about what a real process shows (a one-line error and
exit code, no traceback, no password) run `python -m replywatch` as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import clean_env, replywatch
from clirun import cli as run_cli
from mailbuild import DANA, Maildir, at, lead_mail, mail

from replywatch.reports.export import COLUMNS


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env=env)


def process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return replywatch(*args, cwd=cwd)


def write_config(root: Path, db_url: str) -> Path:
    config = root / "replywatch.toml"
    config.write_text(
        f"""
[database]
url = "{db_url}"

[[stores]]
name = "Main Street Honda"
timezone = "America/Chicago"

[[associates]]
name = "Dana Lee"
store = "Main Street Honda"
emails = ["{DANA}"]

[[sources]]
name = "inbox"
type = "maildir"
path = "mail"
""",
        encoding="utf-8",
    )
    return config


def test_a_missing_config_is_one_line_and_exit_1(tmp_path: Path) -> None:
    # Given a folder without replywatch.toml; When status is asked
    result = process("status", cwd=tmp_path)
    # Then one line names the file and the fix, without a traceback
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: replywatch.toml: configuration file not found (create one with `replywatch init`)"
    ]


def test_a_bad_key_is_named(tmp_path: Path) -> None:
    # Given a config with a misspelt key in the second source
    (tmp_path / "replywatch.toml").write_text(
        '[[sources]]\nname = "a"\ntype = "maildir"\npath = "m"\n'
        '[[sources]]\nname = "b"\ntype = "maildir"\npath = "m"\nintervall = 5\n'
    )
    # When any command loads it
    result = cli("poll", "--once", cwd=tmp_path)
    # Then the error names the key and where it is, on one line
    assert result.returncode == 1
    assert result.stderr.strip() == "error: replywatch.toml: sources[1].intervall: unknown key"
    assert "Traceback" not in result.stderr


def test_an_inline_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "replywatch.toml").write_text(
        '[[sources]]\nname = "a"\ntype = "imap"\nhost = "h"\nusername = "u"\npassword = "hunter2"\n'
    )
    result = cli("status", cwd=tmp_path)
    assert result.returncode == 1
    assert "password_env or password_file" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_init_writes_a_config_and_rules_that_validate(tmp_path: Path) -> None:
    # When a dealer runs init in a new folder
    result = cli("init", "site", cwd=tmp_path)
    # Then a commented config and the default rules are there, and both validate
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "replywatch.toml").read_text().startswith("# replywatch configuration")
    checked = cli("--config", "site/replywatch.toml", "rules", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "all valid" in checked.stdout
    # And the rule format every rule file points to is there too
    assert "[[rule]]" in (tmp_path / "site" / "rules" / "README.md").read_text()
    # And a second init does not overwrite the edited file
    again = cli("init", "site", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_init_prints_commands_that_run_when_replywatch_is_not_on_path(tmp_path: Path) -> None:
    # Given replywatch as `make` installs it: in .venv/bin, which is not on PATH
    program = Path(sys.executable).parent / "replywatch"
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != str(program.parent)]
    env = clean_env({"PATH": os.pathsep.join(path)})
    # When a dealer runs init by its path
    done = subprocess.run(
        [str(program), "init", "site"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    # Then each command it suggests runs as printed
    assert done.returncode == 0, done.stderr
    suggested = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    assert suggested[0] == f"{program} status --config site/replywatch.toml"
    status = subprocess.run(shlex.split(suggested[0]), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    # And polling before a source is uncommented says what to do
    polled = subprocess.run(shlex.split(suggested[1]), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert polled.returncode == 1 and "uncomment one of its [[sources]] examples" in polled.stderr


def test_rules_check_names_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "10-x.toml").write_text(
        '[[rule]]\nname = "a"\nkind = "human"\nsubject_matches = "x"\n\n'
        '[[rule]]\nname = "b"\nkind = "nonsense"\nsubject_matches = "y"\n'
    )
    result = cli("rules", "check", str(rules), cwd=tmp_path)
    assert result.returncode == 1
    assert "10-x.toml:8: rule 'b': unknown kind" in result.stderr  # the line of the bad key


def test_poll_export_and_import_through_the_cli(tmp_path: Path) -> None:
    # Given a dealership with a Maildir: one lead, our follow-up, the customer's reply
    write_config(tmp_path, "sqlite:///replywatch.db")
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("L1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15))
    box.add(mail(DANA, "ana@example.com", "Hi", "Hi Ana", at(2, 15, 30), "<t1@msh>"), at(2, 15, 30), "Sent")
    box.add(mail("ana@example.com", DANA, "Re: Hi", "yes", at(2, 16), "<r1@x>", "<t1@msh>"), at(2, 16))
    # When polled and exported as CSV and JSON
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    exported = cli("contacts", "export", cwd=tmp_path)
    as_json = cli("contacts", "export", "--format", "json", cwd=tmp_path)
    # Then the CSV has exactly the contract's columns and the lead is contacted after 1 hour
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert exported.stdout.splitlines()[0] == ",".join(COLUMNS)
    assert (rows[0]["lead_id"], rows[0]["contacted"], rows[0]["time_to_contact_s"]) == ("L1", "Y", "3600")
    # And the contract's UTC columns come first, then the same times in the store's zone, with its offset
    assert list(rows[0])[:13] == list(COLUMNS)[:13] and rows[0]["received_at"] == "2026-11-02T15:00:00Z"
    assert (rows[0]["received_at_local"], rows[0]["contact_at_local"]) == (
        "2026-11-02T09:00:00-06:00",
        "2026-11-02T10:00:00-06:00",
    )
    assert json.loads(as_json.stdout)[0]["time_to_contact_s"] == 3600
    # And a leads CSV with a bad row is refused whole, naming line and column
    (tmp_path / "leads.csv").write_text(
        "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n"
        "C1,2026-11-03 10:00,Eva,Ruiz,eva@example.com,,Website,,\n"
        "C2,yesterday,Gil,Sosa,gil@example.com,,Website,,\n"
    )
    refused = cli("leads", "import", "leads.csv", cwd=tmp_path)
    assert refused.returncode == 1
    assert "leads.csv:3" in refused.stderr and "received_at" in refused.stderr
    after = list(csv.DictReader(io.StringIO(cli("contacts", "export", cwd=tmp_path).stdout)))
    assert [r["lead_id"] for r in after] == ["L1"]


def test_status_reports_a_failing_source_and_exits_non_zero(tmp_path: Path) -> None:
    # Given a configured Maildir that does not exist
    write_config(tmp_path, "sqlite:///replywatch.db")
    # When polled, then status is asked as JSON
    polled = cli("poll", "--once", cwd=tmp_path)
    status = cli("status", "--format", "json", cwd=tmp_path)
    # Then both say which source fails and why, with non-zero exit codes for monitoring
    assert polled.returncode == 1 and "does not exist" in polled.stderr
    report = json.loads(status.stdout)
    assert status.returncode == 1
    assert report["failing"] == ["inbox"]
    assert "does not exist" in report["sources"][0]["last_error"]


def test_db_upgrade_on_postgresql_hides_the_password(tmp_path: Path) -> None:
    # Given a database URL with a password and nothing listening on its port
    write_config(tmp_path, "postgresql+psycopg://rw:s3cret-pw@127.0.0.1:1/none")
    result = process("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 1
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["--help"], ["poll", "--help"], ["contacts", "export", "--help"]])
def test_help_is_there(tmp_path: Path, command: list[str]) -> None:
    result = cli(*command, cwd=tmp_path)
    assert result.returncode == 0 and "Usage" in result.stdout
