"""No reply invisible, one lead's story, corrections a reviewer can take back: the commands as a user runs
them (`messages list --unmatched`, `status`, `review attach`/`undo`, `leads show`/`find`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clirun import cli
from mailbuild import DANA, Maildir, at, lead_mail, mail
from test_review_cli import Terminal, dealership

STRANGER = "kate.m@nowhere.example"


def _raw(headers: str, body: str) -> bytes:
    return (headers.strip() + "\n\n" + body + "\n").encode()


def kate(root: Path) -> None:
    """Kate Martinez's lead, our follow-up, her reply from a mail client that writes `Martinez, Kate`
    unquoted, and a mail from an address no lead has: the last matches nothing."""
    box = Maildir(root / "mail")
    box.add(lead_mail("K1", "Kate", "Martinez", "kmartinez@yahoo.example", None, at(2, 14)), at(2, 14))
    box.add(
        mail(DANA, "kmartinez@yahoo.example", "Civic", "Hi Kate", at(2, 15), "<t3@msh>"), at(2, 15), "Sent"
    )
    reply = _raw(
        f"From: Martinez, Kate <kmartinez@yahoo.example>\nTo: {DANA}\nSubject: Civic\n"
        "Date: Wed, 04 Nov 2026 17:00:00 +0000\nMessage-ID: <k1@yahoo.example>",
        "Is it still there?",
    )
    box.add(reply, at(4, 17))
    box.add(mail(f"Kate <{STRANGER}>", DANA, "car", "Call me back please", at(5, 9), "<k2@x>"), at(5, 9))
    assert cli("poll", "--once", cwd=root).returncode == 0


def run_json(*args: str, cwd: Path) -> object:
    done = cli(*args, "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_reply_no_lead_takes_is_listed_counted_and_attached(tmp_path: Path) -> None:
    # Given the dealership, Kate's reply (comma in the name) and a mail from an unknown address
    dealership(tmp_path)
    kate(tmp_path)
    # Then her reply made contact on its own, despite the unquoted comma
    story = run_json("leads", "show", "K1", cwd=tmp_path)
    assert story["contact_at"] == "2026-11-04T17:00:00Z"
    # And the unknown mail is listed with its store, and counted by status
    (listed,) = run_json("messages", "list", "--unmatched", cwd=tmp_path)
    assert (listed["sender"], listed["store"], listed["text"]) == (
        STRANGER,
        "Main Street Honda",
        "Call me back please",
    )
    assert run_json("messages", "list", "--unmatched", "--since", "2026-11-06", cwd=tmp_path) == []
    assert run_json("status", cwd=tmp_path)["unmatched_replies"] == 1
    assert "replies matching no lead: 1" in cli("status", cwd=tmp_path).stdout
    # When a reviewer attaches it to Kate's lead
    attached = cli("review", "attach", str(listed["message_id"]), "--lead", "K1", "--by", "ops", cwd=tmp_path)
    assert attached.returncode == 0, attached.stderr
    assert f"→ lead K1 (Kate Martinez); learned {STRANGER}" in attached.stdout
    # Then nothing is left unplaced, the lead has the address, and its story shows the reply and the decision
    assert run_json("messages", "list", "--unmatched", cwd=tmp_path) == []
    story = run_json("leads", "show", "K1", cwd=tmp_path)
    assert STRANGER in story["emails"]
    assert {"lead_id", "store", "associate", "received_at", "contact_at", "events"} <= set(story)
    kinds = [(e["kind"], e["direction"], e["status"]) for e in story["events"]]
    assert kinds == [
        ("lead", "inbound", None),
        ("touch", "outbound", "matched"),
        ("reply", "inbound", "matched"),
        ("reply", "inbound", "matched"),
        ("review_decision", "inbound", "accept"),
    ]
    event = story["events"][3]
    assert set(event) == {"at", "kind", "direction", "channel", "message_id", "status", "score", "reasons"}
    assert (event["message_id"], event["channel"], "decided by a person" in event["reasons"]) == (
        listed["message_id"],
        "email",
        True,
    )
    # And the text view shows the store's local time beside UTC
    shown = cli("leads", "show", "K1", cwd=tmp_path).stdout
    assert "review_decision" in shown and "(09:00Z)" in shown


def test_leads_find_by_loose_name_address_and_number(tmp_path: Path) -> None:
    dealership(tmp_path)
    kate(tmp_path)
    assert [f["lead_id"] for f in run_json("leads", "find", "kmartinez@yahoo.example", cwd=tmp_path)] == [
        "K1"
    ]
    assert [f["lead_id"] for f in run_json("leads", "find", "kate martinez", cwd=tmp_path)] == ["K1"]
    slipped = run_json("leads", "find", "Katherine Martines", cwd=tmp_path)
    assert [(f["lead_id"], f["found_by"]) for f in slipped] == [("K1", "name_fuzzy")]
    assert {f["lead_id"] for f in run_json("leads", "find", "Johnny Smith", cwd=tmp_path)} == {"S1", "S2"}
    assert run_json("leads", "find", "Nobody Atall", cwd=tmp_path) == []
    missing = cli("leads", "show", "NOPE", cwd=tmp_path)
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: no lead 'NOPE'")


def test_a_tie_needs_a_lead_and_a_decision_can_be_undone(tmp_path: Path) -> None:
    # Given the two John Smiths' mail, which ties between their leads
    dealership(tmp_path)
    first = run_json("review", "list", cwd=tmp_path)[0]  # type: ignore[index]
    assert first["candidates"][0]["score"] == first["candidates"][1]["score"]
    # Then accepting without naming the lead is refused
    refused = cli("review", "accept", str(first["id"]), cwd=tmp_path)
    assert refused.returncode == 1 and "tie; name one with --lead" in refused.stderr
    # And an accepted one can be taken back: it waits again and its lead forgot the address
    assert cli("review", "accept", str(first["id"]), "--lead", "S1", cwd=tmp_path).returncode == 0
    undone = cli("review", "undo", str(first["id"]), cwd=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert "decision taken back, now waiting for review; unlearned john@plumbing.example" in undone.stdout
    assert len(run_json("review", "list", cwd=tmp_path)) == 2  # type: ignore[arg-type]
    assert "john@plumbing.example" not in run_json("leads", "show", "S1", cwd=tmp_path)["emails"]  # type: ignore[index]
    nothing = cli("review", "undo", str(first["id"]), cwd=tmp_path)
    assert (nothing.returncode, "no review decision to undo" in nothing.stderr) == (1, True)


def test_the_interactive_queue_asks_for_a_number_on_a_tie_and_undoes_with_u(tmp_path: Path) -> None:
    dealership(tmp_path)
    term = Terminal([sys.executable, "-m", "replywatch", "review"], tmp_path)
    term.wait_for("(1 of 2)", "[Enter] accept top")
    # Enter on a tie decides nothing: it asks for the number
    term.press("\r")
    term.wait_for("tie: press the number of the one it answers")
    term.press("2")
    term.wait_for("→ lead S1", "(2 of 2)")
    # u takes that decision back and shows the first item again
    term.press("u")
    term.wait_for("decision taken back")
    term.press("q")
    screen = term.wait_for("accepted 0, rejected 0, skipped 0; 2 left in the queue")
    after = screen[screen.index("decision taken back") :]
    assert after.index("(1 of 2)") < after.index("accepted 0")
    assert term.close() == 0


def test_the_unmatched_replies_are_placed_from_the_queue_with_l(tmp_path: Path) -> None:
    # Given a reply from an address no lead has
    dealership(tmp_path)
    kate(tmp_path)
    term = Terminal([sys.executable, "-m", "replywatch", "review", "--unmatched"], tmp_path)
    term.wait_for("(1 of 1)", STRANGER, "[l] place on another lead")
    # When the reviewer presses l and types Kate's lead id
    term.press("l")
    term.wait_for("lead id (as exported)")
    for key in "K1\r":
        term.press(key)
    # Then the reply is hers and the address is learned
    term.wait_for(f"→ lead K1 (Kate Martinez); learned {STRANGER}", "0 left in the unmatched replies")
    assert term.close() == 0
    assert run_json("messages", "list", "--unmatched", cwd=tmp_path) == []


def test_messages_list_says_what_it_needs(tmp_path: Path) -> None:
    dealership(tmp_path)
    kate(tmp_path)
    table = cli("messages", "list", "--unmatched", cwd=tmp_path)
    assert table.returncode == 0 and "nowhere" in table.stdout and "review attach ID --lead" in table.stdout
    bare = cli("messages", "list", cwd=tmp_path)
    assert (bare.returncode, bare.stderr.strip()) == (
        1,
        "error: messages list needs --unmatched (the replies that match no lead)",
    )
    bad = cli("messages", "list", "--unmatched", "--since", "last week", cwd=tmp_path)
    assert bad.returncode == 1 and "expected a day as YYYY-MM-DD" in bad.stderr
