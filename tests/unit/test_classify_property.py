"""Property: mutated and truncated mail never breaks parse + classify; what cannot be read says why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailbuild import DANA, at, lead_mail, mail
from mailbuild import settings as dealership

from replywatch.classify.rules import RULE_KINDS, RuleSet, default_rules_dir, load_rules
from replywatch.errors import ParseError
from replywatch.ingest.directory import open_directory
from replywatch.ingest.prepare import UNPARSABLE, Preparer, verdict
from replywatch.sources.base import RawItem
from replywatch.store.db import open_database

CORPUS = SHARED / "corpus"
SAMPLES = [
    "bounce/sisimai-lhost-postfix-32.eml",
    "bounce/sisimai-dos-lhost-sendgrid-01.eml",
    "bounce/sisimai-mac-lhost-exim-01.eml",
    "bounce/sisimai-lhost-amazonses-10.eml",
    "complaint/sisimai-arf-01.eml",
]
HTML = (
    b"From: pat@example.com\nTo: dana@mainstreethonda.example\nSubject: Re: CR-V\n"
    b"Date: Mon, 02 Nov 2026 18:00:00 +0000\nContent-Type: text/html; charset=utf-8\n\n"
    b"<div>Yes!</div><blockquote>On Mon, Nov 2, 2026 Dana &lt;d@x.example&gt; wrote:<br>Hi</blockquote>"
)


def seeds() -> list[bytes]:
    """Real bounces and complaints when the corpus is there, and a dealership's own kinds of mail."""
    found = [(CORPUS / name).read_bytes() for name in SAMPLES if (CORPUS / name).is_file()]
    return [
        *found,
        HTML,
        lead_mail("L1", "Ana", "Díaz", "ana@example.com", "512-555-0101", at(2, 15)),
        mail(
            "ana@example.com", DANA, "Re: Your CR-V", "Yes!\n\nOn Mon, Dana wrote:\n> Hi", at(2, 18), "<r@x>"
        ),
    ]


SEEDS = seeds()


@st.composite
def damaged_mail(draw: st.DrawFn) -> bytes:
    """A seed cut short, with bytes removed, replaced or inserted, or its line ends changed."""
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        at_ = draw(st.integers(0, len(raw)))
        how = draw(st.sampled_from(["truncate", "delete", "insert", "line-ends"]))
        if how == "truncate":
            raw = raw[:at_]
        elif how == "delete":
            raw = raw[:at_] + raw[at_ + draw(st.integers(1, 200)) :]
        elif how == "insert":
            raw = raw[:at_] + draw(st.binary(min_size=1, max_size=40)) + raw[at_:]
        else:
            raw = raw.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\n\n"])))
    return raw


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(default_rules_dir())


@pytest.fixture(scope="module")
def preparer(tmp_path_factory: pytest.TempPathFactory, rules: RuleSet) -> Preparer:
    root = tmp_path_factory.mktemp("property")
    cfg = dealership(root, f"sqlite:///{root / 'replywatch.db'}")
    _, sessions = open_database(cfg.database.url)
    directory = open_directory(sessions, cfg)
    return Preparer(directory, rules, datetime(2026, 11, 30, tzinfo=UTC))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=damaged_mail())
def test_damaged_mail_gets_a_kind_or_says_why_it_cannot(rules: RuleSet, raw: bytes) -> None:
    # Given a real mail damaged at random; When `replywatch classify` looks at it
    found = verdict(raw, rules)
    # Then no exception escapes: it has a kind and a rule, or is unparsable with the reason
    if found.kind == UNPARSABLE:
        assert found.error
    else:
        assert found.kind in RULE_KINDS and found.rule and found.error is None


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=damaged_mail())
def test_ingest_prepares_damaged_mail_or_refuses_it_with_a_parse_error(
    preparer: Preparer, raw: bytes
) -> None:
    # Given the same damaged mail as a polled item
    item = RawItem(source="inbox", external_id="x", position="INBOX/1", payload=raw)
    # When ingest prepares it, Then it is ready to store, or refused with a ParseError (which the
    # pipeline quarantines with its reason), never another exception
    try:
        prepared = preparer.prepare(item)
    except ParseError as refused:
        assert str(refused)
        return
    assert prepared.message.kind in RULE_KINDS
    assert len(prepared.message.snippet or "") <= 1000


def test_the_seeds_are_mail_ingest_reads(rules: RuleSet) -> None:
    assert all(verdict(raw, rules).kind != UNPARSABLE for raw in SEEDS), Path(CORPUS).is_dir()


def test_a_date_header_with_an_overflowing_field_falls_back_instead_of_failing() -> None:
    # Found by the property test above: a minute field of ten digits overflows datetime's C integer.
    from replywatch.parse.email import parse_email

    fallback = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    raw = b'From: a@example.com\r\nDate: Wed, 31 Oct 2012 05:4_1351676802-30315-116783"\r\n\r\nhi\r\n'
    assert parse_email(raw, fallback_date=fallback).date == fallback
