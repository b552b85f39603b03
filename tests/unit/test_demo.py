"""The demo dealership on disk: a config, a Maildir and an SMS CSV shaped the way the pollers expect."""

from __future__ import annotations

import csv
import email
import mailbox
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from replywatch import clock
from replywatch.config import load_settings
from replywatch.demo import SampleDealership, write_sample_dealership
from replywatch.demo.mail import CRM_DOMAIN
from replywatch.demo.people import ASSOCIATES

END = date(2025, 11, 24)  # a Monday
_NAME = re.compile(r"^\d{10}\.\d+_\d+\.[\w.-]+(:2,S)?$")
_PROVIDER_DOMAINS = ("autotrader", "cars.", "cargurus", "truecar", "dealerwebsites", "-oem.")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleDealership:
    return write_sample_dealership(tmp_path_factory.mktemp("demo"), seed=7, end=END)


def _messages(maildir: mailbox.Maildir) -> list[tuple[str, bytes, EmailMessage]]:
    out = []
    for key in sorted(maildir.iterkeys()):
        raw = maildir.get_bytes(key)
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out.append((key, raw, msg))
    return out


def _inbox(sample: SampleDealership) -> list[tuple[str, bytes, EmailMessage]]:
    return _messages(mailbox.Maildir(sample.maildir, factory=None, create=False))


def _sent(sample: SampleDealership) -> list[tuple[str, bytes, EmailMessage]]:
    return _messages(mailbox.Maildir(sample.maildir, factory=None, create=False).get_folder("Sent"))


def _is_lead_mail(msg: EmailMessage) -> bool:
    return any(p in str(msg["From"]) for p in _PROVIDER_DOMAINS)


def _adf_parts(msg: EmailMessage) -> list[tuple[str, str]]:
    """(content type, text) of each body part or attachment that holds ADF."""
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        text = payload.decode("utf-8")
        if "<adf" in text:
            parts.append((part.get_content_type(), text))
    return parts


def _rows(sample: SampleDealership) -> list[dict[str, str]]:
    with sample.sms_csv.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Each file's bytes, and for mail files the mtime too (the poller's delivery order)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): (p.read_bytes(), _mail_mtime(p)) for p in files}


def _mail_mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.parent.name in ("cur", "new") else 0


# -- config -------------------------------------------------------------------------------------------------


def test_config_validates_and_points_at_the_written_sources(sample: SampleDealership) -> None:
    # Given the sample's replywatch.toml, When loaded as replywatch loads any config
    settings = load_settings(sample.config_path, environ={})

    # Then it names two stores, five associates split over them, and its sources relative to the file
    assert [s.name for s in settings.stores] == ["Main Street Honda", "Lakeside Toyota"]
    assert Counter(a.store for a in settings.associates) == {"Main Street Honda": 3, "Lakeside Toyota": 2}
    assert all(s.opening_hours()[6] is None for s in settings.stores)  # Sunday closed
    assert all(re.fullmatch(r"\+1\d{3}555\d{4}", a.phones[0]) for a in settings.associates)
    paths = {s.name: Path(getattr(s, "path", "")) for s in settings.sources}
    assert paths == {
        "lead-inbox": sample.maildir.resolve(),
        "texts": sample.sms_csv.resolve(),
        "calls": sample.calls_csv.resolve(),
    }
    assert settings.database.url == f"sqlite:///{(sample.root / 'replywatch.db').resolve()}"


# -- Maildir ------------------------------------------------------------------------------------------------


def test_maildir_opens_with_its_sent_subfolder_and_every_message_parses(sample: SampleDealership) -> None:
    # Given the written Maildir, When opened with the standard library
    maildir = mailbox.Maildir(sample.maildir, factory=None, create=False)
    inbox, sent = _inbox(sample), _sent(sample)

    # Then INBOX and the Maildir++ Sent folder hold messages with the headers a poller relies on
    assert maildir.list_folders() == ["Sent"]
    assert (sample.maildir / ".Sent" / "maildirfolder").exists()
    assert len(inbox) > sample.leads and len(sent) > sample.leads // 2
    for _, raw, msg in inbox + sent:
        assert msg["Message-ID"] and msg["From"] and msg["To"] and msg["Subject"]
        assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # RFC 5322: CRLF only


def test_file_names_are_standard_and_mtimes_follow_the_date_header(sample: SampleDealership) -> None:
    # Given every message file of both folders
    files = [p for p in sample.maildir.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")]

    # Then names have the time.pid_uniq.host form (flagged seen in cur/) and each mtime is the mail's Date
    assert files
    for path in files:
        assert _NAME.match(path.name), path.name
        assert path.name.endswith(":2,S") == (path.parent.name == "cur")
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert path.stat().st_mtime == parsedate_to_datetime(str(msg["Date"])).timestamp()


def test_sent_folder_holds_our_follow_ups_from_associates(sample: SampleDealership) -> None:
    # Given the Sent folder, Then every mail there comes from an associate's address to a customer
    ours = {a.email for a in ASSOCIATES}
    for _, _, msg in _sent(sample):
        assert msg["From"].addresses[0].addr_spec in ours
        assert msg["To"].addresses[0].addr_spec not in ours


# -- ADF leads ----------------------------------------------------------------------------------------------


def test_every_lead_arrives_as_adf_in_a_provider_mail(sample: SampleDealership) -> None:
    # Given the provider mails in INBOX
    lead_mails = [msg for _, _, msg in _inbox(sample) if _is_lead_mail(msg)]

    # Then each holds ADF in its body or an XML attachment, and together they hold every lead once
    documents = [text for msg in lead_mails for _, text in _adf_parts(msg)]
    assert all(_adf_parts(msg) for msg in lead_mails)
    ids = re.findall(r"<id sequence=\"1\" source=\"[^\"]+\">([^<]+)</id>", "".join(documents))
    assert len(ids) == len(set(ids)) == sample.leads
    assert sum(doc.count("<adf>") for doc in documents) == sample.leads


def test_adf_documents_are_well_formed_once_the_known_quirks_are_undone(sample: SampleDealership) -> None:
    # Given every ADF document in the sample
    documents = [
        doc + "</adf>"
        for _, _, msg in _inbox(sample)
        for _, text in _adf_parts(msg)
        for doc in text.split("</adf>")[:-1]
    ]

    # When the leading <?ADF?> line and the XML declaration are dropped, Then each parses as XML
    for doc in documents:
        body = re.sub(r"^\s*(<\?ADF[^>]*\?>\s*)?<\?xml[^>]*\?>", "", doc)
        root = ET.fromstring(body)
        assert root.tag == "adf"
        assert root.findtext("prospect/vendor/vendorname") in ("Main Street Honda", "Lakeside Toyota")
        assert root.find("prospect/customer/contact/name") is not None
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", root.findtext("prospect/requestdate", "")
        )


def test_the_real_world_adf_quirks_all_appear_in_a_minority_of_leads(sample: SampleDealership) -> None:
    # Given the ADF parts of all lead mails
    parts = [(ctype, text) for _, _, msg in _inbox(sample) for ctype, text in _adf_parts(msg)]
    text = "\n".join(t for _, t in parts)
    customers = re.findall(r"<customer>.*?</customer>", text, re.S)
    found = Counter(
        {
            "adf line first": text.count('<?ADF VERSION "1.0"?>\n<?xml'),
            "utf-16 declared": text.count('encoding="utf-16"'),
            "full name only": sum('part="full"' in c and 'part="first"' not in c for c in customers),
            "mailto": text.count("<email>mailto:"),
            "cdata": text.count("<![CDATA["),
            "several phones": sum(c.count("<phone") > 1 for c in customers),
            "phone only": sum("<email>" not in c for c in customers),
            "two adf in one mail": sum(t.count("<adf>") == 2 for _, t in parts),
            "application/xml": sum(ctype == "application/xml" for ctype, _ in parts),
            "text/xml": sum(ctype == "text/xml" for ctype, _ in parts),
        }
    )

    # Then each quirk shows up, but in a minority of the leads
    for quirk, count in found.items():
        assert 0 < count < sample.leads / 3, quirk
    assert re.search(r"Hern[aá]ndez|Garc[ií]a|Mart[ií]nez|Rodr[ií]guez", text)
    assert "á" in text or "í" in text or "é" in text  # accented names survive as UTF-8


# -- replies and noise -------------------------------------------------------------------------------------


def test_replies_thread_to_our_follow_ups_or_to_a_crm_mail_we_never_see(sample: SampleDealership) -> None:
    # Given the customers' mail in INBOX and the message ids of everything in the Maildir
    known = {str(msg["Message-ID"]) for _, _, msg in _inbox(sample) + _sent(sample)}
    replies = [msg for _, _, msg in _inbox(sample) if not _is_lead_mail(msg)]
    threaded = [msg for msg in replies if msg["In-Reply-To"] and not msg["Auto-Submitted"]]

    # Then most name our follow-up, a few an unknown CRM message (with "Re:"), and some have no thread
    to_ours = [m for m in threaded if str(m["In-Reply-To"]) in known]
    to_crm = [m for m in threaded if str(m["In-Reply-To"]) not in known]
    unthreaded = [m for m in replies if not m["In-Reply-To"]]
    assert len(to_ours) > len(to_crm) > 2
    assert all(CRM_DOMAIN in str(m["In-Reply-To"]) and str(m["Subject"]).startswith("Re: ") for m in to_crm)
    assert all(str(m["References"]).split()[-1] == str(m["In-Reply-To"]) for m in threaded)
    assert len(unthreaded) > 2


def test_auto_replies_and_stop_texts_are_there_as_noise(sample: SampleDealership) -> None:
    # Given the sample's mail and texts
    autos = [msg for _, _, msg in _inbox(sample) if msg["Auto-Submitted"]]
    stops = [row for row in _rows(sample) if row["body"].strip().upper() == "STOP"]

    # Then a few auto-replies answer our follow-ups, and two or three customers opt out by text
    assert 2 <= len(autos) <= 10
    for msg in autos:
        assert msg["Auto-Submitted"] == "auto-replied" and msg["In-Reply-To"]
        # (a long subject is folded right after `Subject:`, so its unfolded value starts with a space)
        assert re.match(
            r"(Automatic reply|Out of Office|Respuesta automática): ", str(msg["Subject"]).strip()
        )
    assert 2 <= len(stops) <= 3 and all(row["direction"] == "inbound" for row in stops)


# -- SMS CSV ------------------------------------------------------------------------------------------------


def test_sms_csv_has_exactly_the_generic_columns_and_sorted_rows(sample: SampleDealership) -> None:
    # Given the SMS log
    with sample.sms_csv.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    rows = _rows(sample)

    # Then the header is the contract's, ids are unique Twilio-like SIDs, times are UTC with Z, in order
    assert header == ["id", "sent_at", "from", "to", "body", "direction"]
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(re.fullmatch(r"SM[0-9a-f]{32}", row["id"]) for row in rows)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["sent_at"]) for row in rows)
    assert [row["sent_at"] for row in rows] == sorted(row["sent_at"] for row in rows)
    assert Counter(row["direction"] for row in rows).keys() == {"inbound", "outbound"}


def test_sms_phone_numbers_come_in_mixed_human_formats(sample: SampleDealership) -> None:
    # Given every number written in the SMS log
    numbers = [row[side] for row in _rows(sample) for side in ("from", "to")]

    # Then they are written several ways, and all are ten-digit US numbers underneath
    shapes = {re.sub(r"\d", "9", n) for n in numbers}
    assert {"+99999999999", "(999) 999-9999", "999.999.9999"} <= shapes
    assert all(len(re.sub(r"\D", "", n).removeprefix("1")) == 10 for n in numbers)


# -- whole sample -------------------------------------------------------------------------------------------


def test_counts_are_in_the_ranges_of_a_believable_five_weeks(sample: SampleDealership) -> None:
    # Given the default five-week sample
    rows, inbox, sent = _rows(sample), _inbox(sample), _sent(sample)

    # Then about 200 leads, a bit over half contacted, and mail and texts in proportion
    assert 170 <= sample.leads <= 230
    assert 0.45 <= sample.expected_contacted / sample.leads <= 0.7
    assert sample.leads < len(inbox) < 2 * sample.leads
    assert sample.leads // 2 < len(sent) < 1.5 * sample.leads
    assert sample.leads // 2 < len(rows) < 1.5 * sample.leads


def test_nothing_is_dated_on_or_after_the_end_date(sample: SampleDealership) -> None:
    # Given the end Monday, Then every mail and text lies in the five weeks before it
    start, stop = datetime(2025, 10, 19, tzinfo=UTC), datetime(2025, 11, 24, 7, tzinfo=UTC)
    dates = [parsedate_to_datetime(str(m["Date"])) for _, _, m in _inbox(sample) + _sent(sample)]
    dates += [datetime.fromisoformat(row["sent_at"].replace("Z", "+00:00")) for row in _rows(sample)]
    assert all(start <= d < stop for d in dates)


def test_same_seed_and_end_give_identical_files(tmp_path: Path) -> None:
    # Given two samples from the same seed and end, and one from another seed
    first = write_sample_dealership(tmp_path / "a", seed=3, end=END, weeks=2)
    second = write_sample_dealership(tmp_path / "b", seed=3, end=END, weeks=2)
    other = write_sample_dealership(tmp_path / "c", seed=4, end=END, weeks=2)

    # Then the first two are byte for byte (and mtime for mtime) the same, the third is not
    assert _tree(first.root) == _tree(second.root)
    assert (first.leads, first.expected_contacted) == (second.leads, second.expected_contacted)
    assert _tree(first.root) != _tree(other.root)


def test_writing_again_replaces_the_previous_sample(tmp_path: Path) -> None:
    # Given a sample written with one seed, When another seed is written into the same directory
    write_sample_dealership(tmp_path, seed=1, end=END, weeks=1)
    again = write_sample_dealership(tmp_path, seed=2, end=END, weeks=1)

    # Then only the new sample's mail is there
    fresh = write_sample_dealership(tmp_path / "fresh", seed=2, end=END, weeks=1)
    assert _tree(again.maildir) == _tree(fresh.maildir)


def test_end_defaults_to_the_monday_on_or_before_today(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given "today" is a Thursday
    monkeypatch.setattr(clock, "now", lambda: datetime(2025, 11, 27, 15, 0, tzinfo=UTC))

    # When a sample is written without an end
    result = write_sample_dealership(tmp_path / "default", weeks=1)

    # Then it ends at that week's Monday, like a sample written with that end
    explicit = write_sample_dealership(tmp_path / "explicit", weeks=1, end=END)
    assert _tree(result.root) == _tree(explicit.root)


def test_weeks_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="weeks"):
        write_sample_dealership(tmp_path, weeks=0)


def test_the_call_log_holds_every_kind_of_call(sample: SampleDealership) -> None:
    # Given the sample's call log
    with sample.calls_csv.open(newline="", encoding="utf-8") as fh:
        calls = list(csv.DictReader(fh))
    # Then our calls answered, reaching voicemail or nobody, and customers' calls forwarded or missed
    kinds = Counter(
        (row["direction"], row["status"], row["answered_by"] or "-", bool(row["dialed"])) for row in calls
    )
    assert kinds[("outbound", "completed", "machine", False)] > 2
    assert kinds[("outbound", "no-answer", "-", False)] > 2
    assert kinds[("inbound", "no-answer", "-", False)] > 2
    assert (
        sum(n for (d, s, _, dialed), n in kinds.items() if d == "inbound" and s == "completed" and dialed) > 0
    )
    assert sum(
        n for (d, s, a, _), n in kinds.items() if d == "outbound" and s == "completed" and a != "machine"
    )
