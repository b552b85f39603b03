"""`replywatch leads import` with the files a BDC manager really has: saved from Excel, with names that
are almost right, corrected and imported again."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest
from clirun import cli as run_cli
from clirun import replywatch
from mailbuild import DANA, Maildir, at, mail


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def dealership(root: Path, db_url: str) -> None:
    """A Texas store with Jake Miller, and one customer reply from Maria's phone-less address."""
    (root / "replywatch.toml").write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        '[[stores]]\nname = "Hill Country Ford"\ntimezone = "America/Chicago"\nregion = "US"\n\n'
        '[[associates]]\nname = "Jake Miller"\nstore = "Hill Country Ford"\n'
        f'emails = ["{DANA}"]\n\n'
        '[[sources]]\nname = "inbox"\ntype = "maildir"\npath = "mail"\n',
        encoding="utf-8",
    )
    box = Maildir(root / "mail")
    box.add(
        mail(DANA, "maria@example.com", "Your Maverick", "Hi Maria", at(30, 21), "<t1@hcf>"),
        at(30, 21),
        "Sent",
    )
    box.add(
        mail("maria@example.com", DANA, "Re: Your Maverick", "yes", at(30, 22), "<r1@x>", "<t1@hcf>"),
        at(30, 22),
    )
    assert cli("poll", "--once", cwd=root).returncode == 0


EXCEL = (
    "Lead ID;Date Received;First Name;Last Name;E-mail;Phone Number;Lead Source;Salesperson;Dealership\r\n"
    "L-1;11/30/2026 2:05 PM;Maria;Gonzalez;maria@exmaple;(512) 555-0142;Website;Jake;Hill Country Frod\r\n"
)


def contacts(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(cli("contacts", "export", cwd=root).stdout)))


def test_an_excel_file_is_read_and_what_looks_wrong_is_said_per_line(tmp_path: Path, db_url: str) -> None:
    # Given a dealership, and a lead file saved from Excel: `;`, people's headers, a US date, and an
    # associate, a store and an address that are almost right
    dealership(tmp_path, db_url)
    (tmp_path / "leads.csv").write_text(EXCEL, encoding="utf-8")
    # When it is imported with --strict, Then nothing is imported and every problem is named
    strict = cli("leads", "import", "leads.csv", "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and contacts(tmp_path) == []
    assert strict.stderr.splitlines() == [
        "error: leads.csv: line 2: associate 'Jake' is not configured (closest configured: 'Jake Miller');"
        " the lead is imported without an associate",
        "error: leads.csv: line 2: store 'Hill Country Frod' is not configured (closest configured:"
        " 'Hill Country Ford'); the lead goes to Hill Country Ford",
        "error: leads.csv: line 2: email 'maria@exmaple' is not an email address; not kept",
        "error: 3 problems: nothing imported (--strict)",
    ]
    # When it is imported without --strict, Then the lead is in, at 14:05 Chicago time, with warnings
    loose = cli("leads", "import", "leads.csv", cwd=tmp_path)
    assert loose.returncode == 0, loose.stderr
    assert loose.stdout.strip() == "1 new lead, 0 updated, 0 unchanged"
    assert loose.stderr.count("warning: leads.csv: line 2:") == 3
    [row] = contacts(tmp_path)
    assert (row["lead_id"], row["received_at"], row["associate"], row["contacted"]) == (
        "L-1",
        "2026-11-30T20:05:00Z",
        "",  # the file named nobody we know, and our mail went to an address it does not have
        "N",
    )


def test_a_corrected_file_imported_again_updates_the_lead(tmp_path: Path, db_url: str) -> None:
    # Given the Excel file imported with its mistakes
    dealership(tmp_path, db_url)
    (tmp_path / "leads.csv").write_text(EXCEL, encoding="utf-8")
    assert cli("leads", "import", "leads.csv", cwd=tmp_path).returncode == 0
    # When the manager corrects the address, associate and store and imports it again
    fixed = EXCEL.replace("maria@exmaple", "maria@example.com").replace(";Jake;", ";Jake Miller;")
    (tmp_path / "leads.csv").write_text(fixed.replace("Frod", "Ford"), encoding="utf-8")
    again = cli("leads", "import", "leads.csv", cwd=tmp_path)
    # Then it says one lead was updated, and Maria's reply now counts as contact
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert again.stdout.strip() == "0 new leads, 1 updated, 0 unchanged"
    [row] = contacts(tmp_path)
    assert (row["associate"], row["contacted"], row["time_to_contact_s"]) == ("Jake Miller", "Y", "6900")
    # And the same file a third time changes nothing
    assert (
        cli("leads", "import", "leads.csv", cwd=tmp_path).stdout.strip()
        == "0 new leads, 0 updated, 1 unchanged"
    )


@pytest.mark.parametrize(
    ("cell", "said"),
    [("9999-12-31T23:59:59", "outside 1970-2100"), ("2026-11-30\x0014:05", "holds a NUL byte")],
)
def test_a_hostile_date_is_one_line_naming_the_line_and_no_data(
    tmp_path: Path, db_url: str, cell: str, said: str
) -> None:
    # Given a file whose second lead has an absurd time or a NUL byte (PostgreSQL refuses NULs)
    dealership(tmp_path, db_url)
    (tmp_path / "leads.csv").write_text(
        "lead_id,received_at,first_name,last_name,email,phone,source\n"
        "L-1,2026-11-30 09:00,Maria,Gonzalez,maria@example.com,,Website\n"
        f"L-2,{cell},Eva,Ruiz,eva@example.com,,Website\n",
        encoding="utf-8",
    )
    # When it is imported (as a process: what the user's terminal shows)
    result = replywatch("leads", "import", "leads.csv", cwd=tmp_path)
    # Then one line names the line, shows no one's data, and nothing is imported
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: leads.csv:3") and said in line
    assert "Maria" not in line and "Eva" not in line and "Traceback" not in result.stderr
    assert contacts(tmp_path) == []
