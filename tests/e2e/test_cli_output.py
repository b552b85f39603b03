"""What the CLI prints, as a new user meets it: global options anywhere, help without type noise, every
configuration error at once, tables that fit (plain aligned lines when piped), stored data never read as
terminal markup, times in the store's zone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from clirun import cli as run_cli
from clirun import replywatch
from mailbuild import DANA, Maildir, at, mail, two_john_smiths

STORE = "Main Street Honda"
HOSTILE_NAME = "John [/x] Smith [link=http://evil.example]click[/link]"
HOSTILE_TEXT = "[/x] still [bold]interested[/bold] in the CR-V"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def dealership(root: Path) -> Path:
    """Two John Smiths we followed up, a reply only a person can place (its sender and text carrying
    markup), and an SMS export with a row whose time is markup: quarantined with its value in the error."""
    config = root / "conf" / "replywatch.toml"
    config.parent.mkdir()
    config.write_text(
        f"""
[database]
url = "sqlite:///{root}/replywatch.db"
[[stores]]
name = "{STORE}"
timezone = "America/Chicago"
[[associates]]
name = "Dana Lee"
store = "{STORE}"
emails = ["{DANA}"]
[[sources]]
name = "inbox"
type = "maildir"
path = "{root}/mail"
[[sources]]
name = "texts"
type = "sms-csv"
path = "{root}/sms.csv"
""",
        encoding="utf-8",
    )
    box = Maildir(root / "mail")
    two_john_smiths(box)
    box.add(
        mail(f'"{HOSTILE_NAME}" <john@plumbing.example>', DANA, "hi", HOSTILE_TEXT, at(4, 15), "<r1@x>"),
        at(4, 15),
    )
    (root / "sms.csv").write_text(
        "id,sent_at,from,to,body,direction\nSM1,[/x][link=http://evil.example],+15125550111,+15125550100,hi,inbound\n"
    )
    return config


def test_global_options_are_accepted_after_the_subcommand(tmp_path: Path) -> None:
    # Given a configuration outside the working folder
    config = dealership(tmp_path)
    # When the user writes --config (and --debug) after the subcommand, as `replywatch status --config x`
    polled = cli("poll", "--once", "--config", str(config), cwd=tmp_path)
    status = cli("status", f"--config={config}", "--debug", cwd=tmp_path)
    # Then the commands run against that configuration
    assert polled.returncode == 0, polled.stderr
    assert "inbox: 5 new items" in polled.stdout
    assert "No such option" not in status.stderr and "leads: 2" in status.stdout


def test_help_shows_no_type_beside_flags(tmp_path: Path) -> None:
    shown = cli("status", "--help", cwd=tmp_path).stdout + cli("--help", cwd=tmp_path).stdout
    assert "--debug" in shown and "--check" in shown
    assert "<bool>" not in shown


def test_every_configuration_error_is_listed(tmp_path: Path) -> None:
    # Given a file with two mistakes
    (tmp_path / "replywatch.toml").write_text(
        '[[stores]]\nname = "A"\ntimezone = "Mars/Olympus"\n'
        '[[sources]]\nname = "a"\ntype = "maildir"\npath = "m"\nintervall = 5\n'
    )
    # When a command loads it
    result = replywatch("status", cwd=tmp_path)
    # Then both are named, one line each, without a traceback
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: replywatch.toml: stores[0].timezone: unknown time zone 'Mars/Olympus'",
        "error: replywatch.toml: sources[0].intervall: unknown key",
    ]
    # And --debug (a traceback) still names both
    debug = replywatch("status", "--debug", cwd=tmp_path).stderr
    assert "Mars/Olympus" in debug and "intervall" in debug


def test_stored_markup_is_printed_as_written_in_status_and_review(tmp_path: Path) -> None:
    # Given a reply whose sender and text carry Rich markup, and a quarantined row whose error quotes some
    config = dealership(tmp_path)
    cli("poll", "--once", "--config", str(config), cwd=tmp_path)
    # When the BDC manager looks at status and the review queue
    status = cli("status", "--config", str(config), cwd=tmp_path)
    listed = cli("review", "list", "--config", str(config), cwd=tmp_path)
    # Then nothing crashes and the values print exactly as stored: no markup read, no link made
    assert status.returncode == 0 and listed.returncode == 0, status.stderr + listed.stderr
    assert "[/x][link=http://evil.example]" in status.stdout
    assert "[/x] still [bold]interested[/bold]" in listed.stdout
    assert "\x1b]8;" not in status.stdout + listed.stdout  # no hyperlink escape
    shown = cli(
        "review", "show", listed.stdout.splitlines()[2].split()[0], "--config", str(config), cwd=tmp_path
    )
    assert HOSTILE_NAME in shown.stdout and HOSTILE_TEXT in shown.stdout


def test_piped_tables_are_aligned_lines_that_cut_nothing(tmp_path: Path) -> None:
    # Given a dealership with a review item and a quarantined row
    config = dealership(tmp_path)
    cli("poll", "--once", "--config", str(config), cwd=tmp_path)
    # When status and review list go to another program (not a terminal)
    status = cli("status", "--config", str(config), cwd=tmp_path).stdout.splitlines()
    listed = cli("review", "list", "--config", str(config), cwd=tmp_path).stdout.splitlines()
    # Then each row is one line, columns start where their headers start, and no box is drawn
    header = next(line for line in status if line.startswith("Source "))
    row = next(line for line in status if line.startswith("texts "))
    assert row.index(" 20") + 1 == header.index("Last success"), status
    assert not any(ch in "".join(status + listed) for ch in "│┃━─")
    top = next(line for line in listed if "plumbing" in line or "John" in line)
    assert "S1 John Smith" in top or "S2 John Smith" in top


def test_times_people_read_are_in_the_store_zone(tmp_path: Path) -> None:
    # Given a reply received at 15:00 UTC (at() builds UTC times) in a Chicago store
    config = dealership(tmp_path)
    cli("poll", "--once", "--config", str(config), cwd=tmp_path)
    # When the review queue is listed, Then its time reads as Chicago's, with the zone named
    listed = cli("review", "list", "--config", str(config), cwd=tmp_path).stdout
    assert f"{at(4, 15):%Y-%m-%d} 09:00 CST" in listed
