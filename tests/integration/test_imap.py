"""The IMAP source against a real Dovecot: incremental polls, flags untouched, rescans, partial fetch, and
which messages are the same (one Message-ID on two messages, a message moved between folders)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mailbuild import DANA, STORE, Maildir, adf, at, lead_mail, mail
from sqlalchemy import func, select
from wiring import pipeline as wired_pipeline

from replywatch.config import ImapSourceConfig, Settings, settings_from_dict
from replywatch.errors import ConfigError, PermanentSourceError
from replywatch.ingest.pipeline import PollResult
from replywatch.parse.email import parse_email
from replywatch.reports.export import contact_rows
from replywatch.sources.base import RawItem, Source
from replywatch.sources.factory import build_source
from replywatch.sources.imap import ImapSource
from replywatch.store import sources
from replywatch.store.db import open_database
from replywatch.store.models import Lead, Message, Quarantine

if TYPE_CHECKING:
    from servers.dovecot import Account

pytest_plugins = ["servers.dovecot"]


def dealership(db_url: str, source: dict[str, Any]) -> Settings:
    """Main Street Honda with Dana, reading one IMAP lead inbox."""
    return settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [{"name": STORE, "timezone": "America/Chicago"}],
            "associates": [{"name": "Dana Lee", "store": STORE, "emails": [DANA]}],
            "sources": [source],
        }
    )


def poll(cfg: Settings, source: Source | None = None) -> PollResult:
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    return pipeline.poll(source or build_source(cfg.sources[0]))


def export(cfg: Settings) -> dict[str, dict[str, str]]:
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        return {row["lead_id"]: row for row in contact_rows(session)}


def stored(cfg: Settings, model: type[Message] | type[Quarantine] | type[Lead] = Message) -> int:
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def items(account: Account, **overrides: Any) -> list[RawItem]:
    source = ImapSource(ImapSourceConfig.model_validate(account.source(**overrides)))
    return list(source.items({}))


def follow_up(to: str, when: datetime, message_id: str) -> bytes:
    return mail(DANA, to, "Your CR-V", "Hi, when can you come by?", when, message_id)


def test_incremental_polls_store_only_new_mail(account: Account, db_url: str) -> None:
    # Given two leads in INBOX and Dana's follow-ups in the \Sent folder (found by SPECIAL-USE)
    account.save(lead_mail("L1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)))
    account.save(lead_mail("L2", "Ben", "Ortiz", "ben@example.com", None, at(2, 16)))
    account.save_many([follow_up("ana@example.com", at(2, 15, 20), "<t1@msh>")], account.sent_special_use)
    account.save_many([follow_up("ben@example.com", at(2, 17), "<t2@msh>")], account.sent_special_use)
    cfg = dealership(db_url, account.source())
    # When the inbox is polled
    first = poll(cfg)
    # Then both leads are in, touched, and nobody is contacted yet
    assert (first.stored, first.leads) == (4, 2)
    rows = export(cfg)
    assert rows["L1"]["first_touch_at"] == "2026-11-02T15:20:00Z" and rows["L1"]["contacted"] == "N"
    # When Ana answers in the thread and the inbox is polled twice more
    account.save(mail("ana@example.com", DANA, "Re: Your CR-V", "Saturday?", at(2, 18), "<r1@x>", "<t1@msh>"))
    second, third = poll(cfg), poll(cfg)
    # Then only her reply was read, once, and she is contacted
    assert (second.stored, third.stored) == (1, 0)
    rows = export(cfg)
    assert rows["L1"]["contacted"] == "Y" and rows["L1"]["contact_at"] == "2026-11-02T18:00:00Z"
    assert rows["L2"]["contacted"] == "N"


def test_polling_leaves_every_flag_as_it_was(account: Account) -> None:
    # Given mail an associate has partly read, flagged, answered and labelled in Outlook
    flag_sets: list[tuple[str, ...]] = [(), ("\\Seen",), ("\\Flagged", "\\Answered"), ("$Label1",), ()]
    for i, flags in enumerate(flag_sets):
        account.append(mail("x@example.com", DANA, f"m{i}", "hello", at(3, 9, i), f"<f{i}@x>"), flags=flags)
    before = account.flags()
    # When replywatch reads every message
    read = items(account)
    # Then every flag is as it was: unread mail is still unread
    assert len(read) == 5
    assert account.flags() == before
    assert [uid for uid, flags in account.flags().items() if "\\Seen" not in flags] == [1, 3, 4, 5]


def test_recreated_sent_folder_is_read_again_without_duplicates(account: Account, db_url: str) -> None:
    # Given a poll over INBOX and "Sent Items" (found by name: no SPECIAL-USE flag)
    account.save(lead_mail("L1", "Ana", "Diaz", "ana@example.com", None, at(2, 15)))
    sent = [
        follow_up("ana@example.com", at(2, 15, 20), "<t1@msh>"),
        follow_up("x@example.com", at(2, 16), "<t9@msh>"),
    ]
    account.save_many(sent, "Sent Items")
    cfg = dealership(db_url, account.source())
    assert poll(cfg).stored == 3
    # When the folder is deleted and recreated (new UIDVALIDITY) with one more follow-up in it
    account.delete_folder("Sent Items")
    account.save_many([*sent, follow_up("ana@example.com", at(3, 9), "<t3@msh>")], "Sent Items")
    again = poll(cfg)
    # Then only the new follow-up is stored: the rescan found the others by Message-ID
    assert again.stored == 1
    assert stored(cfg) == 4


def test_large_attachments_stay_on_the_server(account: Account) -> None:
    # Given a lead notice: text, its ADF as an XML attachment, and a 2 MB photo of the trade-in
    notice = EmailMessage()
    notice["From"], notice["To"], notice["Subject"] = "leads@autotrader.example", DANA, "New lead L7"
    notice["Message-ID"], notice["Date"] = "<lead-L7@autotrader.example>", "Mon, 02 Nov 2026 15:00:00 +0000"
    notice.set_content("A new lead is attached.")
    adf = b'<?xml version="1.0"?><adf><prospect><id source="AutoTrader">L7</id></prospect></adf>'
    notice.add_attachment(adf, maintype="application", subtype="xml", filename="lead.xml")
    photo = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    notice.add_attachment(photo, maintype="image", subtype="jpeg", filename="trade-in.jpg")
    account.save(notice.as_bytes())
    # When replywatch reads it
    (item,) = items(account)
    parsed = parse_email(item.payload, fallback_date=item.fallback_date)  # type: ignore[arg-type]
    # Then text and ADF are there, the photo is known by name and size, and was never downloaded
    assert parsed.text == "A new lead is attached."
    by_name = {a.filename: a for a in parsed.attachments}
    assert by_name["lead.xml"].payload == adf
    assert by_name["trade-in.jpg"].payload is None
    assert abs(by_name["trade-in.jpg"].size - len(photo)) < len(photo) // 100
    assert len(notice.as_bytes()) > 2_700_000
    assert account.bytes_out < 32 * 1024, "Dovecot's log: bytes sent to replywatch's sessions"


def test_a_huge_text_body_is_read_up_to_the_cap(account: Account) -> None:
    # Given a reply whose body is 1 MB of text (a pasted log, a forwarded thread)
    body = "Yes I am interested.\n" + "more text\n" * 100_000
    account.save(mail("ana@example.com", DANA, "Re: CR-V", body, at(3, 10), "<big@x>"))
    # When replywatch reads it with a 64 KiB cap
    (item,) = items(account, text_part_cap=64 * 1024)
    # Then the first 64 KiB of the body are read and parse, no more
    parsed = parse_email(item.payload)  # type: ignore[arg-type]
    assert parsed.text.startswith("Yes I am interested.")
    assert 60 * 1024 < len(parsed.text) <= 64 * 1024
    assert account.bytes_out < 80 * 1024


def test_one_bad_message_is_quarantined_and_the_folder_goes_on(account: Account, db_url: str) -> None:
    # Given a reply, then bytes that are not a mail at all, then another reply
    account.save(mail("ana@example.com", DANA, "Hello", "one", at(3, 9), "<a1@x>"))
    account.save(b"\x00\x01\x02 this is not a mail\r\n")
    account.save(mail("ben@example.com", DANA, "Hello", "two", at(3, 10), "<b1@x>"))
    cfg = dealership(db_url, account.source())
    # When the inbox is polled twice
    first, second = poll(cfg), poll(cfg)
    # Then the bad one is quarantined with where it is, the others stored, and nothing is read twice
    assert (first.stored, first.quarantined) == (2, 1)
    assert "INBOX uid 2" in first.errors[0]
    assert (second.stored, second.quarantined) == (0, 0)


def test_since_reads_only_mail_that_arrived_from_that_day(account: Account) -> None:
    # Given mail that arrived in October and in November
    for day, mid in ((20, "<oct@x>"), (2, "<nov@x>")):
        month = 10 if mid == "<oct@x>" else 11
        arrived = datetime(2026, month, day, 12, tzinfo=UTC)
        account.append(mail("ana@example.com", DANA, "Hi", "hello", arrived, mid), when=arrived)
    # When read with since = 1 November
    read = items(account, since=date(2026, 11, 1).isoformat())
    # Then only November's mail comes, dated by its arrival
    assert [i.external_id.split("#")[0] for i in read] == ["<nov@x>"]
    assert read[0].fallback_date == datetime(2026, 11, 2, 12, tzinfo=UTC)


def test_idle_wakes_at_new_mail_and_returns_on_stop(account: Account) -> None:
    # Given a source waiting in IDLE (renewed every 0.3 s, as it is every 25 minutes in production)
    source = ImapSource(ImapSourceConfig.model_validate(account.source()))
    appender = threading.Timer(
        1.0, account.append, [mail("a@example.com", DANA, "Hi", "x", at(3, 9), "<i@x>")]
    )
    # When a mail is appended a second later
    began = time.monotonic()
    appender.start()
    woke = source.wait_for_changes(timeout=20, renew_after=0.3)
    # Then the wait returns at once with news
    assert woke and 0.9 < time.monotonic() - began < 5
    # And with nothing arriving it returns quietly when stopped
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    began = time.monotonic()
    assert source.wait_for_changes(timeout=20, stop=stop) is False
    assert time.monotonic() - began < 3


def test_mail_that_came_between_poll_and_wait_wakes_at_once(account: Account) -> None:
    # Given a source that has read its inbox, and one more mail arriving before it waits in IDLE
    account.save(mail("a@example.com", DANA, "Hi", "x", at(3, 9), "<w1@x>"))
    source = ImapSource(ImapSourceConfig.model_validate(account.source()))
    cursors = {"INBOX": next(iter(source.items({}))).cursor[1]}  # type: ignore[index]
    assert source.wait_for_changes(timeout=0.5, cursors=cursors) is False
    account.save(mail("b@example.com", DANA, "Hi", "y", at(3, 10), "<w2@x>"))
    # When it waits with the cursors it committed
    began = time.monotonic()
    # Then it returns at once: there is mail beyond the cursor
    assert source.wait_for_changes(timeout=20, cursors=cursors) is True
    assert time.monotonic() - began < 2


def test_tls_and_starttls_verify_the_certificate(account: Account) -> None:
    # Given a mail, and Dovecot presenting a self-signed certificate on both of its ports
    account.save(mail("ana@example.com", DANA, "Hello", "one", at(3, 9), "<a1@x>"))
    ca = str(account.server.ca_file)
    implicit = {"port": account.server.tls_port, "tls": True, "ca_file": ca}
    # When read over implicit TLS and over STARTTLS with ca_file naming that certificate
    # Then both read the mail
    assert len(items(account, **implicit)) == 1
    assert len(items(account, starttls=True, ca_file=ca)) == 1
    # And without ca_file the certificate is refused, with a reason a person can act on
    with pytest.raises(PermanentSourceError, match=r"certificate not trusted.*ca_file"):
        items(account, port=account.server.tls_port, tls=True)


def test_plain_text_off_loopback_is_refused_in_the_config() -> None:
    # Given an IMAP source on a remote host with TLS switched off
    table = {"name": "in", "type": "imap", "host": "imap.example.com", "tls": False, "username": "u"}
    # When the configuration is read, Then it is refused unless insecure is said out loud
    with pytest.raises(ConfigError, match=r"plain-text IMAP to imap\.example\.com is refused"):
        dealership("sqlite://", {**table, "password_env": "X"})
    assert dealership("sqlite://", {**table, "password_env": "X", "insecure": True}).sources


def snippets(cfg: Settings) -> list[str]:
    _, sessions = open_database(cfg.database.url)
    with sessions() as session:
        return sorted(s or "" for s in session.scalars(select(Message.snippet)))


def test_two_different_messages_with_one_message_id_are_both_kept(account: Account, db_url: str) -> None:
    # Given two different replies that a broken mail client sent with the same Message-ID
    account.save(mail("ana@example.com", DANA, "Re: car", "Saturday works", at(3, 9), "<same@phone>"))
    account.save(mail("ana@example.com", DANA, "Re: car", "Actually Sunday", at(3, 10), "<same@phone>"))
    cfg = dealership(db_url, account.source(folders=["INBOX"]))
    # When the inbox is polled
    result = poll(cfg)
    # Then both are stored
    assert result.stored == 2
    assert snippets(cfg) == ["Actually Sunday", "Saturday works"]


def test_a_message_moved_to_another_folder_is_not_stored_twice(account: Account, db_url: str) -> None:
    # Given a reply in INBOX, polled, with the Archive folder read too
    account.create_folder("Archive")
    account.save(mail("ana@example.com", DANA, "Re: car", "Saturday works", at(3, 9), "<r1@phone>"))
    cfg = dealership(db_url, account.source(folders=["INBOX", "Archive"]))
    poll(cfg)
    # When an associate moves it to Archive, and the inbox is polled again
    with account.client() as client:
        client.select_folder("INBOX")
        client.move(client.search(["ALL"]), "Archive")
    result = poll(cfg)
    # Then it is recognised: still one message
    assert result.stored == 0
    assert snippets(cfg) == ["Saturday works"]


def test_mail_stored_under_the_earlier_folder_id_is_not_stored_again(account: Account, db_url: str) -> None:
    # Given a reply an earlier version stored as INBOX:<Message-ID>, and the folder's cursor lost (a rescan)
    account.save(mail("ana@example.com", DANA, "Re: car", "Saturday works", at(3, 9), "<r1@phone>"))
    cfg = dealership(db_url, account.source(folders=["INBOX"]))
    poll(cfg)
    _, sessions = open_database(db_url)
    with sessions() as session, session.begin():
        session.execute(Message.__table__.update().values(external_id="INBOX:<r1@phone>"))
        sources.save_cursor(session, "lead-inbox", "INBOX", "{}", at(30, 12))
    # When the inbox is polled again from the start
    result = poll(cfg)
    # Then nothing is stored twice
    assert (result.seen, result.stored) == (1, 0)


def oversized_notices() -> list[bytes]:
    """A lead notice with 60 prospects, and one whose single document is padded past 256 KiB."""
    one = adf("B0", "Ana", "Diaz", "ana@example.com", None, at(2, 15))
    prospect = one[one.index("<prospect>") : one.index("</adf>")]
    many = one.replace(prospect, "".join(prospect.replace(">B0<", f">B{n}<") for n in range(60)))
    padded = one.replace("<prospect>", "<!--" + "x" * 300_000 + "--><prospect>")
    return [
        mail(
            "leads@autotrader.example", DANA, f"New lead {n}", body, at(2, 15), f"<big{n}@autotrader.example>"
        )
        for n, body in enumerate((many, padded))
    ]


def test_an_oversized_lead_notice_is_quarantined_alike_over_imap_and_from_a_maildir(
    account: Account, db_url: str, tmp_path: Path
) -> None:
    # Given two oversized lead notices, in the IMAP inbox and in a Maildir
    box = Maildir(tmp_path / "mail")
    for raw in oversized_notices():
        account.save(raw)
        box.add(raw, at(2, 15))
    imap_cfg = dealership(db_url, account.source(folders=["INBOX"]))
    local_cfg = dealership(db_url, {"name": "old-inbox", "type": "maildir", "path": str(tmp_path / "mail")})
    # When both are polled
    results = [poll(imap_cfg), poll(local_cfg)]
    # Then each source quarantines both notices, and no lead is made from either
    assert [(r.stored, r.quarantined) for r in results] == [(0, 2), (0, 2)]
    assert stored(imap_cfg, Lead) == 0
    imap_errors, local_errors = ([e.split(": ", 1)[1] for e in r.errors] for r in results)
    assert imap_errors == local_errors
    assert imap_errors[0] == "more than 50 ADF prospects in one notice: refused whole"
    # (the padded one is cut at the text part cap by both sources: its <adf> never closes)
    assert "never closed" in imap_errors[1]


def test_a_huge_mail_is_read_from_a_maildir_as_imap_reads_it(account: Account, tmp_path: Path) -> None:
    # Given a reply with a long text and a 20 MB photo, in the IMAP inbox and in a Maildir
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "ana@example.com", DANA, "Re: car", "<huge@x>"
    msg.set_content("Saturday works.\n" + "more words here\n" * 40_000)
    msg.add_attachment(b"\x89PNG" + bytes(20_000_000), maintype="image", subtype="png", filename="car.png")
    account.save(msg.as_bytes())
    Maildir(tmp_path / "mail").add(msg.as_bytes(), at(3, 9))
    # When both sources read it
    [over_imap] = items(account, folders=["INBOX"])
    [local] = build_source(
        dealership("sqlite://", {"name": "old", "type": "maildir", "path": str(tmp_path / "mail")}).sources[0]
    ).items({})
    # Then the Maildir's item is cut to the same parts as IMAP's: the text up to the cap, the photo a
    # placeholder with its name and size, so a few hundred kilobytes are parsed instead of 27 MB
    assert isinstance(over_imap.payload, bytes) and isinstance(local.payload, bytes)
    assert len(local.payload) < 300_000 and len(over_imap.payload) < 300_000
    imap_mail, local_mail = parse_email(over_imap.payload), parse_email(local.payload)
    texts = [m.text.replace("\r\n", "\n") for m in (imap_mail, local_mail)]
    assert all(t.startswith("Saturday works.") and 240_000 < len(t) <= 262_144 for t in texts)
    assert [(a.filename, a.size > 19_000_000) for a in local_mail.attachments] == [("car.png", True)]
    assert [a.filename for a in imap_mail.attachments] == ["car.png"]
