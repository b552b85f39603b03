"""One shopper with several open leads, on SQLite and PostgreSQL: the reply goes to the lead its evidence
names (the associate written to), not merely the latest one we touched, and says why."""

from __future__ import annotations

from pathlib import Path

from mailbuild import DANA, Maildir, at, lead_mail, mail, settings
from test_match import contacts, match_of, run

from replywatch.config import Settings, settings_from_dict

MARCUS = "marcus@mainstreethonda.example"


def two_associates(tmp_path: Path, db_url: str) -> Settings:
    cfg = settings(tmp_path, db_url, inbox="maildir:mail").model_dump(mode="json")
    cfg["associates"].append(
        {"name": "Marcus Johnson", "store": cfg["stores"][0]["name"], "emails": [MARCUS]}
    )
    return settings_from_dict(cfg)


def test_a_reply_written_to_the_older_leads_associate_goes_to_that_lead(tmp_path: Path, db_url: str) -> None:
    # Given Ana's lead followed up by Dana, and her newer lead followed up by Marcus
    box = Maildir(tmp_path / "mail")
    box.add(lead_mail("OLD", "Ana", "Diaz", "ana@example.com", None, at(2, 15)), at(2, 15))
    box.add(mail(DANA, "ana@example.com", "CR-V", "Hi Ana", at(2, 16), "<t1@msh>"), at(2, 16), "Sent")
    box.add(lead_mail("NEW", "Ana", "Diaz", "ana@example.com", None, at(9, 15)), at(9, 15))
    box.add(mail(MARCUS, "ana@example.com", "Pilot", "Hi again", at(9, 16), "<t2@msh>"), at(9, 16), "Sent")
    # When she writes a fresh mail (no thread) to Dana
    box.add(
        mail("Ana Diaz <ana@example.com>", DANA, "question", "Can I come Saturday?", at(10, 9), "<r1@x>"),
        at(10, 9),
    )
    pipeline = run(two_associates(tmp_path, db_url))
    # Then it is the reply of Dana's lead, and the match says the associate chose it
    reply = match_of(pipeline, "<r1@x>")
    top = reply.reasons[0]
    assert (reply.status, top["chosen_by"], "associate" in top["reasons"]) == ("matched", "associate", True)
    rows = contacts(pipeline)
    assert (rows["OLD"]["contacted"], rows["NEW"]["contacted"]) == ("Y", "N")
