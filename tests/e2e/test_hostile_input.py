"""What a hostile sender or a careless operator cannot do through the CLI: plant a formula in an export,
read the database's password in a log or an error, read customers' data from a file the umask left open,
get a traceback from a huge CSV field or from three first polls at once."""

from __future__ import annotations

import csv
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from clirun import cli, replywatch
from mailbuild import Maildir, at, lead_mail

from replywatch.reports.export import spreadsheet_safe
from replywatch.store.db import redact_url, url_password

HOSTILE = ('=HYPERLINK("http://evil.example/x","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3")


def write_config(root: Path, db_url: str) -> None:
    (root / "replywatch.toml").write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        '[[stores]]\nname = "Main Street Honda"\ntimezone = "America/Chicago"\n',
        encoding="utf-8",
    )


def test_an_export_never_hands_a_spreadsheet_a_formula(tmp_path: Path, db_url: str) -> None:
    # Given leads whose ids and provider names are formulas, as a hostile ADF sender could make them
    write_config(tmp_path, db_url)
    leads = io.StringIO()
    writer = csv.writer(leads)
    writer.writerow(["lead_id", "received_at", "first_name", "last_name", "email", "phone", "source"])
    writer.writerows([v, "2026-11-03 10:00", "Eva", "Ruiz", "", "", v + "x"] for v in HOSTILE)
    (tmp_path / "leads.csv").write_text(leads.getvalue(), encoding="utf-8")
    assert cli("leads", "import", "leads.csv", cwd=tmp_path).returncode == 0
    # When the contacts are exported as CSV and as JSON
    as_csv = cli("contacts", "export", cwd=tmp_path).stdout
    as_json = json.loads(cli("contacts", "export", "--format", "json", cwd=tmp_path).stdout)
    # Then every such cell of the CSV starts with a quote mark, and the JSON keeps the values exact
    exported = list(csv.DictReader(io.StringIO(as_csv)))
    assert sorted(r["lead_id"] for r in exported) == sorted("'" + v for v in HOSTILE)
    assert all(r["source"].startswith("'") for r in exported)
    assert sorted(r["lead_id"] for r in as_json) == sorted(HOSTILE)
    # And a plain number in a numeric column stays a number
    assert all(r["time_to_contact_s"] == "" for r in exported)


def test_spreadsheet_safe_cells() -> None:
    # Given cells a spreadsheet would run, and ones it would not; Then only the former get a quote mark
    assert [spreadsheet_safe(v) for v in ("\tcmd", "\r=1", "-", "Website", "-42", "+1.5")] == [
        "'\tcmd",
        "'\r=1",
        "'-",
        "Website",
        "-42",
        "+1.5",
    ]


def test_no_form_of_database_password_is_shown_in_an_error(tmp_path: Path) -> None:
    # Given a configuration whose PostgreSQL URL carries passwords in every form SQLAlchemy reads: an
    # unencoded `@` in the user info, and `password`/`sslpassword` query parameters
    url = "postgresql+psycopg://rw:s3cr@tTail@127.0.0.1:1/rw?password=hunter2&sslpassword=k3yphrase"
    write_config(tmp_path, url)
    # When a command cannot reach it
    result = cli("status", cwd=tmp_path)
    # Then the one-line error names the database without any of them
    assert result.returncode == 1 and "cannot open database" in result.stderr
    for secret in ("s3cr", "tTail", "hunter2", "k3yphrase"):
        assert secret not in result.stderr + result.stdout


def test_database_urls_in_log_lines_are_masked() -> None:
    # Given log text holding database URLs with credentials in the user info and the query
    line = (
        "database postgresql://rw:p@ss@db.example/rw?sslmode=require&password=hunter2 up; "
        "old sqlite:///x.db; mail ana@example.com"
    )
    # When masked; Then no credential is left, and the rest of the line is as it was
    assert redact_url(line) == (
        "database postgresql://rw:***@db.example/rw?sslmode=require&password=*** up; "
        "old sqlite:///x.db; mail ana@example.com"
    )
    assert url_password("postgresql://rw:p@ss@db.example/rw") == "p@ss"
    assert url_password("postgresql://rw@db.example/rw?password=hunter2") == "hunter2"


def test_files_holding_customer_data_are_private_whatever_the_umask(tmp_path: Path) -> None:
    # Given a permissive umask and a SQLite database in a folder that does not exist yet
    write_config(tmp_path, "sqlite:///data/replywatch.db")
    previous = os.umask(0o022)
    try:
        # When the database is made, a lead imported, the contacts exported and a digest previewed
        (tmp_path / "leads.csv").write_text(
            "lead_id,received_at,first_name,last_name,email,phone,source\n"
            "L1,2026-11-03 10:00,Eva,Ruiz,,,Web\n",
            encoding="utf-8",
        )
        assert cli("leads", "import", "leads.csv", cwd=tmp_path).returncode == 0
        assert cli("contacts", "export", "--out", "out/contacts.csv", cwd=tmp_path).returncode == 0
        preview = cli("digest", "preview", "--week", "2026-11-02", "--out", "out/digest.html", cwd=tmp_path)
        assert preview.returncode == 0, preview.stderr
    finally:
        os.umask(previous)
    # Then every file is readable by its owner only, and every new folder too
    files = [p for p in (tmp_path / "data").iterdir()] + [
        tmp_path / "out/contacts.csv",
        tmp_path / "out/digest.html",
    ]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}
    assert {oct((tmp_path / d).stat().st_mode & 0o777) for d in ("data", "out")} == {"0o700"}


def test_a_funnel_file_with_a_huge_field_is_one_line_naming_it(tmp_path: Path) -> None:
    # Given a CRM funnel file whose third line carries a 200 kB field
    write_config(tmp_path, "sqlite:///replywatch.db")
    huge = "x" * 200_000
    (tmp_path / "crm.csv").write_text(
        f"lead_id,event,at\nL1,appointment,2026-11-03T10:00\nL2,{huge},2026-11-03T11:00\n", encoding="utf-8"
    )
    # When it is imported
    result = cli("funnel", "import", "crm.csv", cwd=tmp_path)
    # Then one line names the file and line, without a traceback or the field
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: crm.csv:3: unreadable CSV record: field larger than field limit (131072)"
    ]


def test_three_first_polls_at_once_each_finish_cleanly(tmp_path: Path, db_url: str) -> None:
    # Given a new database and a dealership with a Maildir and an SMS export
    write_config(tmp_path, db_url)
    with (tmp_path / "replywatch.toml").open("a", encoding="utf-8") as fh:
        fh.write(
            '\n[[associates]]\nname = "Dana Lee"\nstore = "Main Street Honda"\nemails = ["dana@msh.ex"]\n'
            '\n[[sources]]\nname = "inbox"\ntype = "maildir"\npath = "mail"\n'
            '\n[[sources]]\nname = "texts"\ntype = "sms-csv"\npath = "sms.csv"\n'
        )
    Maildir(tmp_path / "mail").add(
        lead_mail("L1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15)
    )
    (tmp_path / "sms.csv").write_text(
        "id,sent_at,from,to,body,direction\nt1,2026-11-02T16:00:00Z,+15125550134,+15125550100,hi,inbound\n",
        encoding="utf-8",
    )
    # When three `poll --once` start at the same moment (three cron jobs, a daemon and an operator)
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda _: replywatch("poll", "--once", cwd=tmp_path), range(3)))
    # Then each finishes without an error, and everything is stored once
    assert [(r.returncode, "Traceback" in r.stderr, "UNIQUE" in r.stderr) for r in runs] == [
        (0, False, False)
    ] * 3
    exported = list(csv.DictReader(io.StringIO(cli("contacts", "export", cwd=tmp_path).stdout)))
    assert [r["lead_id"] for r in exported] == ["L1"]
