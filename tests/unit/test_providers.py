"""Providers' plain-text lead notices: read by the field patterns of rules/20-providers.toml."""

from __future__ import annotations

import textwrap
from email.message import EmailMessage
from pathlib import Path

import pytest

from replywatch.classify.rules import RuleSet, check_rules, default_rules_dir, load_rules
from replywatch.errors import ParseError
from replywatch.ingest.prepare import read_email, verdict
from replywatch.parse.providers import NoticeFormat, parse_notice

CARS_COM = """\
You have a new lead from Cars.com!

Lead ID: CC-20261102-0042
Name: Maria  Lopez
Email: maria.lopez@example.com
Phone: (512) 555-0142
Vehicle: 2025 Honda CR-V EX-L

Comments: Is it still available?
"""
CARGURUS = """\
New CarGurus lead for Main Street Honda

Lead ID: CG-88412
First Name: Ben
Last Name: Ortiz
Buyer Email: <ben.ortiz@example.net>
Buyer Phone: +1 512 555 0177
Listing: 2024 Honda Civic Sport
"""


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(default_rules_dir())


def notice(sender: str, subject: str, body: str, headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "leads@mainstreethonda.example", subject
    msg["Date"], msg["Message-ID"] = "Mon, 02 Nov 2026 15:00:00 +0000", "<n1@provider.example>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def fmt(rules: RuleSet, rule: str) -> NoticeFormat:
    found = rules.notice_format(rule)
    assert found is not None
    return found


def test_a_cars_com_text_notice_is_a_lead_with_its_fields(rules: RuleSet) -> None:
    # Given a Cars.com notice in plain text, sent with bulk-mail headers
    raw = notice("Cars.com <leads@mail.cars.com>", "New Cars.com Lead", CARS_COM, {"Precedence": "bulk"})
    # When classified and read
    found = verdict(raw, rules)
    lead = parse_notice(read_email(raw).text, fmt(rules, found.rule), "<n1@provider.example>")
    # Then it is a lead, read by its provider's rule, with every field
    assert (found.kind, found.rule) == ("lead", "cars-com-text-lead")
    assert (lead.source, lead.external_id, lead.full_name) == ("Cars.com", "CC-20261102-0042", "Maria Lopez")
    assert (lead.emails, lead.phones) == (("maria.lopez@example.com",), ("(512) 555-0142",))
    assert lead.vehicle == "2025 Honda CR-V EX-L"


def test_a_cargurus_notice_gives_first_and_last_name(rules: RuleSet) -> None:
    raw = notice("CarGurus <noreply@cargurus.com>", "New CarGurus lead: 2024 Honda Civic", CARGURUS)
    found = verdict(raw, rules)
    lead = parse_notice(read_email(raw).text, fmt(rules, found.rule), "fallback")
    assert found.rule == "cargurus-text-lead"
    assert (lead.first_name, lead.last_name, lead.emails, lead.phones) == (
        "Ben",
        "Ortiz",
        ("ben.ortiz@example.net",),
        ("+1 512 555 0177",),
    )
    assert (lead.external_id, lead.vehicle) == ("CG-88412", "2024 Honda Civic Sport")


def test_a_notice_without_email_or_phone_cannot_be_a_lead(rules: RuleSet) -> None:
    with pytest.raises(ParseError, match=r"Cars\.com lead notice: no email or phone"):
        parse_notice("Lead ID: 1\nName: Ana\n", fmt(rules, "cars-com-text-lead"), "x")


def test_the_notice_id_falls_back_to_the_message_id(rules: RuleSet) -> None:
    lead = parse_notice("Email: ana@example.com\n", fmt(rules, "cars-com-text-lead"), "<n1@x>")
    assert lead.external_id == "<n1@x>"


def test_a_customer_reply_relayed_through_the_provider_stays_human(rules: RuleSet) -> None:
    # Given the customer's answer to our follow-up, relayed from a per-lead alias at the provider's domain
    raw = notice("Maria Lopez <u8f3k2@relay.cars.com>", "Re: Your 2025 CR-V", "Saturday at 10 works.")
    # Then it is her reply, not a provider notice
    assert verdict(raw, rules).kind == "human"


@pytest.mark.parametrize(
    ("sender", "subject"),
    [
        ("CarGurus <calls@cargurus.com>", "New phone lead: (512) 555-0142"),
        ("Cars.com <noreply@cars.com>", "Missed call from (512) 555-0142"),
        ("AutoTrader <reports@autotrader.com>", "Your weekly performance report"),
    ],
)
def test_provider_notices_that_are_no_lead(rules: RuleSet, sender: str, subject: str) -> None:
    raw = notice(sender, subject, "Maria Lopez called about the 2025 CR-V. Reply-to reaches her.")
    assert verdict(raw, rules).kind == "provider_notice"


def write_rule(tmp_path: Path, lead_table: str, kind: str = "lead") -> Path:
    text = f"""
        [[rule]]
        name = "my-provider"
        kind = "{kind}"
        sender_matches = '@leads\\.example$'
        [rule.lead]
        {lead_table}
    """
    path = tmp_path / "20-providers.toml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("table", "kind", "line", "reason"),
    [
        ("email = '^Email: (.+)$'", "lead", 1, "lead needs source"),
        ("source = 'X'\nname = '^Name: (.+)$'", "lead", 6, "lead needs an email or a phone pattern"),
        ("source = 'X'\nemail = '^Email: .+$'", "lead", 7, "needs exactly one (group)"),
        ("source = 'X'\nemail = '(unclosed'", "lead", 7, "bad regex in lead.email"),
        ("source = 'X'\nemail = '(.+)'\nfax = '(.+)'", "lead", 8, "unknown field 'fax'"),
        ("source = 'X'\nemail = '(.+)'", "provider_notice", 3, "belongs to a rule of kind 'lead'"),
    ],
)
def test_a_wrong_lead_table_is_named_by_file_and_line(
    tmp_path: Path, table: str, kind: str, line: int, reason: str
) -> None:
    # Given a provider rule whose [rule.lead] table has one mistake
    path = write_rule(tmp_path, table.replace("\n", "\n        "), kind)
    # When checked, Then the error names file and line and says what is wrong
    errors = check_rules(tmp_path)
    assert len(errors) == 1 and errors[0].startswith(f"{path}:{line}: ") and reason in errors[0], errors


def test_the_documented_example_rule_is_valid(tmp_path: Path) -> None:
    # Given the example of rules/README.md's "Provider lead notices"
    readme = (default_rules_dir() / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Provider lead notices", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    (tmp_path / "20-mine.toml").write_text(example, encoding="utf-8")
    # Then it passes `rules check` and reads a notice in its layout
    assert check_rules(tmp_path) == []
    found = load_rules(tmp_path).notice_format("my-provider-text-lead")
    assert found is not None
    lead = parse_notice("Lead ID: 9\nName: Ana Diaz\nEmail: ana@example.com\n", found, "x")
    assert (lead.external_id, lead.full_name, lead.emails) == ("9", "Ana Diaz", ("ana@example.com",))
