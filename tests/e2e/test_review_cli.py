"""`replywatch review` as a reviewer uses it: the interactive queue in a real terminal (a pty), one
keystroke per decision, and the scriptable list/show/accept/reject commands."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from clirun import replywatch
from mailbuild import DANA, DANA_PHONE, Maildir, at, mail, two_john_smiths

STORE = "Main Street Honda"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return replywatch(*args, cwd=cwd)


def dealership(root: Path) -> None:
    """Two John Smiths (followed up) and Ana; then two mails only a person can place."""
    (root / "replywatch.toml").write_text(
        f"""
[database]
url = "sqlite:///replywatch.db"
[[stores]]
name = "{STORE}"
[[associates]]
name = "Dana Lee"
store = "{STORE}"
emails = ["{DANA}"]
phones = ["{DANA_PHONE}"]
[[sources]]
name = "inbox"
type = "maildir"
path = "mail"
""",
        encoding="utf-8",
    )
    box = Maildir(root / "mail")
    two_john_smiths(box)
    box.add(mail("John Smith <john@plumbing.example>", DANA, "hi", "Call me", at(4, 15), "<r1@x>"), at(4, 15))
    box.add(mail("John Smith <js@bigco.example>", DANA, "hello", "Any news?", at(5, 15), "<r2@x>"), at(5, 15))
    assert cli("poll", "--once", cwd=root).returncode == 0


class Terminal:
    """The CLI on a pseudo-terminal: what a person sees, and keys sent one at a time."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.fd, child = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REPLYWATCH_")}
        env.update(TERM="xterm", COLUMNS="140", LINES="50", REPLYWATCH_REVIEWER="dana")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child)
        os.close(child)
        self.screen = ""

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        """The screen once every one of `texts` is on it (a screen arrives in several writes)."""
        deadline = time.monotonic() + timeout
        while not all(text in self.seen for text in texts):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{texts!r} never all appeared; screen:\n{self.seen}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:  # the program ended and closed the terminal
                    break
        assert all(text in self.seen for text in texts), self.seen
        return self.seen

    @property
    def seen(self) -> str:
        """The screen as a person reads it: without colour codes."""
        return ANSI.sub("", self.screen)

    def press(self, key: str) -> None:
        os.write(self.fd, key.encode())

    def close(self) -> int:
        code = self.proc.wait(timeout=30)
        os.close(self.fd)
        return code


def test_the_interactive_queue_decides_one_item_per_keystroke(tmp_path: Path) -> None:
    # Given two mails waiting for review
    dealership(tmp_path)
    term = Terminal([sys.executable, "-m", "replywatch", "review"], tmp_path)
    # When the reviewer opens the queue, the first mail shows with both candidate leads, ranked
    first = term.wait_for("(1 of 2)", "[Enter] accept top")
    assert "review item" in first
    assert "john@plumbing.example" in first and "Call me" in first
    # each candidate with what tells them apart: associate, vehicle, address
    assert re.search(r" 1  S2  John Smith  score", first) and re.search(r" 2  S1  John Smith  score", first)
    assert (
        re.search(r"Dana Lee · 2025 Honda CR-V\S* · john\.smith77@example\.net", first)
        and "same name" in first
    )
    # And "2" accepts the second lead: the next mail is shown at once
    term.press("2")
    second = term.wait_for("→ lead S1", "(2 of 2)", "js@bigco.example")
    assert second.index("→ lead S1") < second.index("(2 of 2)") < second.index("js@bigco.example")
    # And "r" asks first; any key but "y" keeps it, "y" rejects it, which ends the queue
    term.press("r")
    term.wait_for("Reject message")
    term.press("n")
    term.wait_for("not rejected")
    term.press("r")
    term.press("y")
    term.wait_for("accepted 1, rejected 1, skipped 0; 0 left in the queue")
    assert term.close() == 0
    # Then the first lead shows contacted, nothing waits, and the queue is empty for good
    export = cli("contacts", "export", "--format", "json", cwd=tmp_path)
    rows = {r["lead_id"]: r for r in json.loads(export.stdout)}
    assert (rows["S1"]["contacted"], rows["S1"]["contact_at"]) == ("Y", "2026-11-04T15:00:00Z")
    assert rows["S2"]["contacted"] == "N"
    assert cli("poll", "--once", cwd=tmp_path).returncode == 0
    assert json.loads(cli("review", "list", "--format", "json", cwd=tmp_path).stdout) == []


def test_skip_and_quit_leave_items_waiting(tmp_path: Path) -> None:
    dealership(tmp_path)
    term = Terminal([sys.executable, "-m", "replywatch", "review"], tmp_path)
    term.wait_for("(1 of 2)")
    term.press("s")
    term.wait_for("(2 of 2)")
    term.press("q")
    term.wait_for("accepted 0, rejected 0, skipped 1; 2 left in the queue")
    assert term.close() == 0


def test_scriptable_review_commands(tmp_path: Path) -> None:
    # Given the same queue
    dealership(tmp_path)
    # When it is listed as JSON
    items = json.loads(cli("review", "list", "--format", "json", cwd=tmp_path).stdout)
    # Then each item carries its id, the message and the ranked candidates with score and reasons
    assert len(items) == 2
    first = items[0]
    assert first["message"] | {"text": "Call me"} == first["message"]
    assert (first["message"]["channel"], first["message"]["sender"]) == ("email", "john@plumbing.example")
    assert first["message"]["at"] == "2026-11-04T15:00:00Z"
    assert {c["lead_id"] for c in first["candidates"]} == {"S1", "S2"}
    assert all(c["score"] >= 0.6 and "name" in c["reasons"] for c in first["candidates"])
    # And `show` prints one, `accept --lead` and `reject` decide by id
    shown = cli("review", "show", str(first["id"]), cwd=tmp_path)
    assert shown.returncode == 0 and "Call me" in shown.stdout
    accepted = cli("review", "accept", str(first["id"]), "--lead", "S1", "--by", "ops", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert "→ lead S1" in accepted.stdout
    assert cli("review", "reject", str(items[1]["id"]), cwd=tmp_path).returncode == 0
    assert json.loads(cli("review", "list", "--format", "json", cwd=tmp_path).stdout) == []
    # And a wrong lead id is one line and exit 1
    wrong = cli("review", "accept", str(first["id"]), "--lead", "NOPE", cwd=tmp_path)
    assert (wrong.returncode, wrong.stderr.strip()) == (1, "error: no lead 'NOPE'")
