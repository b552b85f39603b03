"""`replywatch leads import` decides re-matched messages with the rules folder's matching policy."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

from clirun import cli as run_cli
from mailbuild import DANA, Maildir, at, mail

import replywatch as package

DEFAULT_RULES = Path(package.__file__).parent / "default_rules"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def test_a_late_lead_is_matched_by_the_policy_of_the_rules_beside_the_config(tmp_path: Path) -> None:
    # Given a dealership whose rules/ beside the config match a full name alone automatically
    (tmp_path / "replywatch.toml").write_text(
        '[database]\nurl = "sqlite:///replywatch.db"\n\n'
        '[[stores]]\nname = "Main Street Honda"\ntimezone = "America/Chicago"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "Main Street Honda"\nemails = ["{DANA}"]\n\n'
        '[[sources]]\nname = "inbox"\ntype = "maildir"\npath = "mail"\n',
        encoding="utf-8",
    )
    shutil.copytree(DEFAULT_RULES, tmp_path / "rules")
    policy = tmp_path / "rules" / "30-matching.toml"
    shipped = policy.read_text(encoding="utf-8")
    assert "auto = 0.9\n" in shipped
    policy.write_text(shipped.replace("auto = 0.9\n", "auto = 0.8\n"), encoding="utf-8")
    # And a reply from a work address, polled before its lead is known: only the name ties them
    box = Maildir(tmp_path / "mail")
    box.add(mail("Ana Diaz <ana@work.example>", DANA, "Re: Your CR-V", "yes", at(2, 16), "<r1@x>"), at(2, 16))
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    # When the lead is imported from a CSV
    (tmp_path / "leads.csv").write_text(
        "lead_id,received_at,first_name,last_name,email,phone,source,associate,store\n"
        "L1,2026-11-02 09:00,Ana,Diaz,ana@example.com,,Website,,\n",
        encoding="utf-8",
    )
    imported = cli("leads", "import", "leads.csv", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    # Then the reply is matched on the name by that policy (the shipped one would queue it for review)
    rows = list(csv.DictReader(io.StringIO(cli("contacts", "export", cwd=tmp_path).stdout)))
    assert [(r["lead_id"], r["contacted"], r["pending_review"]) for r in rows] == [("L1", "Y", "N")]
