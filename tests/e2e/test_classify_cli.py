"""`replywatch classify`: a dealer checks the rules against their own mail, without a database."""

from __future__ import annotations

import json
import mailbox
import subprocess
from pathlib import Path

from clirun import cli as run_cli
from mailbuild import DANA, Maildir, at, mail

REPLY = mail(
    "pat@example.com",
    DANA,
    "Re: Your CR-V",
    "Saturday at 10 works.\n\nOn Mon, Nov 2, 2026 at 9:14 AM Dana Lee <dana@x.example> wrote:\n> Hi Pat",
    at(2, 18),
    "<r1@example.com>",
)
OUT_OF_OFFICE = mail(
    "sam@example.com", DANA, "Automatic reply: Your Civic", "I am away.", at(2, 19), "<a1@example.com>"
)
GARBAGE = b"\x00\x01 not a mail at all"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def test_json_has_one_object_per_message_with_kind_rule_and_reply_text(tmp_path: Path) -> None:
    # Given a folder of .eml files: a reply, an out-of-office, and a file that is no mail
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "1-reply.eml").write_bytes(REPLY)
    (folder / "2-ooo.eml").write_bytes(OUT_OF_OFFICE)
    (folder / "3-garbage.eml").write_bytes(GARBAGE)
    # When classified as JSON (no replywatch.toml anywhere: the shipped rules apply)
    result = cli("classify", "--format", "json", "mail", cwd=tmp_path)
    # Then each message is one object with its path, kind, rule and reply text; the bad one says why
    assert result.returncode == 0, result.stderr
    rows = {Path(str(row["path"])).name: row for row in json.loads(result.stdout)}
    assert rows["1-reply.eml"] == {
        "path": str(Path("mail") / "1-reply.eml"),
        "kind": "human",
        "rule": "default",
        "reply_text": "Saturday at 10 works.",
    }
    assert (rows["2-ooo.eml"]["kind"], rows["2-ooo.eml"]["rule"]) == ("auto_reply", "auto-reply-subject")
    assert rows["3-garbage.eml"]["kind"] == "unparsable" and "not an email" in str(
        rows["3-garbage.eml"]["error"]
    )


def test_a_maildir_and_an_mbox_and_a_single_file_in_text(tmp_path: Path) -> None:
    # Given a Maildir, an mbox and a lone .eml
    box = Maildir(tmp_path / "Maildir")
    box.add(REPLY, at(2, 18))
    mbox = mailbox.mbox(tmp_path / "old.mbox")
    mbox.add(OUT_OF_OFFICE)
    mbox.flush()
    (tmp_path / "one.eml").write_bytes(REPLY)
    # When classified as text
    result = cli("classify", "Maildir", "old.mbox", "one.eml", cwd=tmp_path)
    # Then every message shows its kind, rule and reply text, and a count closes the list
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("human (default): Saturday at 10 works.") == 2
    assert "auto_reply (auto-reply-subject): I am away." in result.stdout
    assert "old.mbox@0" in result.stdout
    assert result.stdout.strip().endswith("3 messages: 2 human, 1 auto_reply")


def test_a_missing_path_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = cli("classify", "nowhere.eml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: nowhere.eml: no such file or folder"


def test_a_dealers_own_rules_folder_decides(tmp_path: Path) -> None:
    # Given a rules folder that calls every mail from example.com list mail
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "10-mine.toml").write_text(
        '[[rule]]\nname = "all-of-example"\nkind = "list"\nsender_matches = "@example\\\\.com$"\n'
    )
    (tmp_path / "one.eml").write_bytes(REPLY)
    # When classified with it, Then its rule decides
    result = cli("classify", "--rules", "my-rules", "--format", "json", "one.eml", cwd=tmp_path)
    assert [(r["kind"], r["rule"]) for r in json.loads(result.stdout)] == [("list", "all-of-example")]
