"""ADF/XML lead parsing: the quirks real providers send, and XML attacks refused without expansion."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from replywatch.errors import ParseError, UnsafeXMLError
from replywatch.parse.adf import find_adf, parse_adf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "adf"
CST = timezone(timedelta(hours=-6))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def adf(prospect_body: str, *, prolog: str = '<?xml version="1.0"?>') -> str:
    return f"{prolog}\n<adf><prospect>{prospect_body}</prospect></adf>"


CUSTOMER = "<customer><contact><name part='full'>Pat Doe</name></contact></customer>"


# --- find_adf ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "<adf><prospect/></adf>",
        'junk\n<?xml version="1.0"?>\n<ADF>\n<prospect/></ADF>',
        "<Adf version='1.0'>",
    ],
)
def test_find_adf_spots_an_adf_document_in_any_case(body: str) -> None:
    # Given a mail body holding an ADF document, When checked, Then it is recognised
    assert find_adf(body)


@pytest.mark.parametrize("body", ["Hi, is the CR-V still available?", "<address>12 Oak</address>", "<adfx>"])
def test_find_adf_ignores_ordinary_text(body: str) -> None:
    # Given an ordinary reply, When checked, Then it is not taken for a lead
    assert not find_adf(body)


# --- a complete, realistic lead ----------------------------------------------------------------------


def test_full_autotrader_lead_maps_every_field() -> None:
    # Given AutoTrader's ADF with a <?ADF?> line, padded values, CDATA comments and several vehicles
    data = fixture("autotrader_full.xml")

    # When parsed
    [lead] = parse_adf(data)

    # Then the associate sees the lead exactly as the provider described it
    assert lead.external_id == "AT-884213"
    assert lead.external_id_source == "AutoTrader"
    assert lead.source == "AutoTrader.com"
    assert lead.received_at == datetime(2024, 3, 4, 10, 15, tzinfo=CST)
    assert (lead.first_name, lead.last_name, lead.full_name) == ("Maria", "Gonzalez", None)
    assert lead.emails == ("maria.gonzalez@example.com", "mg.relay-7781@leads.autotrader.example")
    assert lead.phones == ("(512) 555-0142", "512-555-0199", "+1 512 555 0143")
    assert lead.vehicle == "2024 Honda CR-V EX-L"
    assert lead.store == "Main Street Honda"
    assert lead.associate is None
    assert lead.line is None


def test_encoding_declared_utf16_on_utf8_bytes_is_ignored() -> None:
    # Given Cars.com bytes that are UTF-8 but declare encoding="utf-16"
    data = fixture("carscom_declared_utf16.xml")

    # When parsed
    [lead] = parse_adf(data)

    # Then accented names come through intact
    assert lead.full_name == "José Núñez Jr."
    assert (lead.first_name, lead.last_name) == ("José", "Núñez")


def test_full_name_only_keeps_full_name_and_no_email_gives_empty_emails() -> None:
    # Given a lead with <name part="full"> only, one mobile phone and no email
    [lead] = parse_adf(fixture("carscom_declared_utf16.xml"))

    # Then the full name is kept, first/last split best-effort, and there are no emails
    assert lead.full_name == "José Núñez Jr."
    assert lead.emails == ()
    assert lead.phones == ("512.555.0177",)
    assert lead.vehicle is None
    assert lead.store is None


def test_source_falls_back_to_id_source_without_provider() -> None:
    # Given a lead with no <provider> (Cars.com fixture), When parsed, Then the id's source names it
    [lead] = parse_adf(fixture("carscom_declared_utf16.xml"))
    assert lead.source == "Cars.com"
    assert lead.received_at == datetime(2024, 3, 5, 18, 40)


def test_several_adf_documents_in_one_mail_body_with_junk_around() -> None:
    # Given a CarGurus notification body with two ADF documents between text and HTML junk
    body = fixture("mail_body_two_leads.txt").decode()

    # When parsed
    leads = parse_adf(body)

    # Then both leads come out, in order
    assert [lead.external_id for lead in leads] == ["CG-1001", "CG-1002"]
    assert [lead.source for lead in leads] == ["CarGurus", "CarGurus"]
    assert leads[0].received_at == datetime(2024, 3, 6, 9, 0, tzinfo=UTC)
    assert leads[0].emails == ("tom.baker@example.net",)
    assert (leads[1].first_name, leads[1].last_name, leads[1].full_name) == ("Ann", "Lee", "Ann Lee")
    assert leads[1].phones == ("512-555-0188",)


def test_several_prospects_in_one_document_give_one_lead_each() -> None:
    # Given one <adf> with two prospects
    xml = (
        "<adf>"
        f"<prospect><id source='web'>W1</id>{CUSTOMER}</prospect>"
        f"<prospect><id source='web'>W2</id>{CUSTOMER}</prospect>"
        "</adf>"
    )
    # When parsed, Then two leads
    assert [lead.external_id for lead in parse_adf(xml)] == ["W1", "W2"]


# --- encodings ------------------------------------------------------------------------------------


def test_real_utf16_with_bom_is_decoded() -> None:
    # Given a document genuinely encoded in UTF-16 (with BOM)
    data = fixture("carscom_declared_utf16.xml").decode("utf-8").encode("utf-16")
    # When parsed, Then the name is right
    assert parse_adf(data)[0].full_name == "José Núñez Jr."


def test_utf8_bom_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + adf(f"<id>B1</id>{CUSTOMER}").encode()
    assert parse_adf(data)[0].external_id == "B1"


def test_windows_1252_bytes_are_decoded() -> None:
    # Given an old dealer-website form that sends cp1252 bytes without saying so
    data = adf("<id>X1</id><customer><contact><name part='first'>Renée</name></contact></customer>").encode(
        "cp1252"
    )
    # When parsed, Then the accented name is right
    assert parse_adf(data)[0].first_name == "Renée"


def test_adf_processing_instruction_before_xml_declaration() -> None:
    xml = adf(
        f"<id>P1</id>{CUSTOMER}", prolog='<?ADF VERSION "1.0"?>\n<?xml version="1.0" encoding="UTF-16"?>'
    )
    assert parse_adf(xml)[0].external_id == "P1"


# --- field quirks ---------------------------------------------------------------------------------


def test_element_names_match_in_any_case() -> None:
    # Given a provider that writes upper- and mixed-case element and attribute names
    xml = (
        "<ADF><PROSPECT><ID SOURCE='DealerSite'>U1</ID><RequestDate>2024-03-04T10:15:00</RequestDate>"
        "<Customer><Contact><Name Part='First'>Lee</Name><Name PART='LAST'>Wong</Name>"
        "<EMAIL>lee@example.com</EMAIL><Phone Type='Voice'>5125550100</Phone></Contact></Customer>"
        "<Vehicle Interest='BUY'><Year>2023</Year><Make>Honda</Make><Model>Civic</Model></Vehicle>"
        "<Vendor><VendorName>Main Street Honda</VendorName></Vendor></PROSPECT></ADF>"
    )
    [lead] = parse_adf(xml)
    assert (lead.external_id, lead.external_id_source, lead.source) == ("U1", "DealerSite", "DealerSite")
    assert (lead.first_name, lead.last_name) == ("Lee", "Wong")
    assert lead.emails == ("lee@example.com",)
    assert lead.phones == ("5125550100",)
    assert lead.vehicle == "2023 Honda Civic"
    assert lead.store == "Main Street Honda"


def test_phones_of_any_type_are_kept_in_document_order_skipping_empty() -> None:
    phones = (
        "".join(
            f"<phone type='{kind}'>{number}</phone>"
            for kind, number in [
                ("cellphone", " 512-555-0001 "),
                ("voice", ""),
                ("fax", "512-555-0002"),
                ("pager", "   \n  "),
                ("mobile", "512-555-0003"),
            ]
        )
        + "<phone>512-555-0004</phone>"
    )
    xml = adf(f"<id>P2</id><customer><contact>{phones}</contact></customer>")
    assert parse_adf(xml)[0].phones == ("512-555-0001", "512-555-0002", "512-555-0003", "512-555-0004")


@pytest.mark.parametrize("written", ["mailto:joe@x.com", "MAILTO:joe@x.com", "  mailto:joe@x.com\n"])
def test_mailto_prefix_is_stripped_from_email(written: str) -> None:
    xml = adf(f"<id>M1</id><customer><contact><email>{written}</email></contact></customer>")
    assert parse_adf(xml)[0].emails == ("joe@x.com",)


def test_cdata_comments_do_not_disturb_parsing() -> None:
    # Given comments in CDATA holding markup-like text and ampersands
    xml = adf(
        "<id>C1</id><customer><contact><name part='first'>Sam</name></contact>"
        "<comments><![CDATA[<p>Call after 5 & ask for </adf> Sam</p>]]></comments></customer>"
    )
    [lead] = parse_adf(xml)
    assert (lead.external_id, lead.first_name) == ("C1", "Sam")


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Pat Doe", "Pat", "Doe"),
        ("Mary Ann Smith", "Mary", "Smith"),
        ("Smith, John", "John", "Smith"),
        ("John A. Smith Jr.", "John", "Smith"),
        ("Cher", "Cher", None),
    ],
)
def test_full_name_is_split_best_effort(full: str, first: str, last: str | None) -> None:
    xml = adf(f"<id>N1</id><customer><contact><name part='full'>{full}</name></contact></customer>")
    [lead] = parse_adf(xml)
    assert (lead.first_name, lead.last_name, lead.full_name) == (first, last, full)


def test_name_without_part_attribute_is_a_full_name() -> None:
    xml = adf("<id>N2</id><customer><contact><name>Dana Lee</name></contact></customer>")
    [lead] = parse_adf(xml)
    assert (lead.first_name, lead.last_name, lead.full_name) == ("Dana", "Lee", "Dana Lee")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-04T10:15:00-06:00", datetime(2024, 3, 4, 10, 15, tzinfo=CST)),
        ("2024-03-04T10:15:00", datetime(2024, 3, 4, 10, 15)),
        ("2024-03-04 10:15:00", datetime(2024, 3, 4, 10, 15)),
        ("2024-03-04T16:15:00Z", datetime(2024, 3, 4, 16, 15, tzinfo=UTC)),
        ("  2024-03-04T10:15:00-0600 \n", datetime(2024, 3, 4, 10, 15, tzinfo=CST)),
        ("03/04/2024 10:15 AM", None),
        ("", None),
    ],
)
def test_requestdate_forms(written: str, expected: datetime | None) -> None:
    xml = adf(f"<id>D1</id><requestdate>{written}</requestdate>{CUSTOMER}")
    # (a naive datetime never equals an aware one, so this also checks awareness)
    assert parse_adf(xml)[0].received_at == expected


def test_missing_requestdate_gives_no_received_at() -> None:
    assert parse_adf(adf(f"<id>D2</id>{CUSTOMER}"))[0].received_at is None


def test_source_defaults_when_neither_provider_nor_id_source() -> None:
    xml = adf(f"<id>S1</id>{CUSTOMER}")
    assert parse_adf(xml)[0].source == "adf"
    assert parse_adf(xml, default_source="lead-inbox")[0].source == "lead-inbox"


def test_only_the_prospect_id_is_the_external_id() -> None:
    # Given a prospect whose <vehicle> and <vendor> carry ids before the prospect's own <id>
    xml = adf(
        "<vehicle><id source='vin'>VIN123</id><year>2022</year></vehicle>"
        "<vendor><id>DLR9</id></vendor><id source='Edmunds'>E-77</id>" + CUSTOMER
    )
    [lead] = parse_adf(xml)
    assert (lead.external_id, lead.external_id_source) == ("E-77", "Edmunds")


def test_trade_in_only_vehicle_is_used_when_no_buy_vehicle() -> None:
    xml = adf(
        f"<id>V1</id>{CUSTOMER}<vehicle interest='trade-in'><year>2015</year><make>Ford</make></vehicle>"
    )
    assert parse_adf(xml)[0].vehicle == "2015 Ford"


def test_the_stock_number_is_kept_with_the_vehicle_for_matching() -> None:
    # Given a lead for a car on the lot, named by its stock number
    xml = adf(
        f"<id>V3</id>{CUSTOMER}<vehicle interest='buy'><year>2024</year><make>Honda</make>"
        "<model>Civic</model><stock> H4521 </stock></vehicle>"
    )
    # Then the vehicle carries it
    assert parse_adf(xml)[0].vehicle == "2024 Honda Civic (stock H4521)"


def test_empty_vehicle_gives_none() -> None:
    assert parse_adf(adf(f"<id>V2</id>{CUSTOMER}<vehicle interest='buy'/>"))[0].vehicle is None


# --- missing id -----------------------------------------------------------------------------------


def test_prospect_without_id_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"ADF prospect has no <id>"):
        parse_adf(adf(CUSTOMER))


def test_prospect_without_id_takes_the_fallback_id_numbered_by_position() -> None:
    # Given a mail with three prospects, the first and third without <id>
    xml = (
        f"<adf><prospect>{CUSTOMER}</prospect><prospect><id>HAS-ID</id>{CUSTOMER}</prospect></adf>"
        f"<adf><prospect>{CUSTOMER}</prospect></adf>"
    )
    # When parsed with the mail's Message-ID as fallback
    leads = parse_adf(xml, fallback_id="<abc@mail>")
    # Then the first takes it as is, later ones get their position as suffix
    assert [lead.external_id for lead in leads] == ["<abc@mail>", "HAS-ID", "<abc@mail>-3"]
    assert leads[0].external_id_source is None


# --- refused documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Hello, just a plain reply.", "no ADF document"),
        ("<adf><prospect><id>1</id></adf>", "malformed ADF XML"),
        ("<adf><prospect><id>1</id>", "never closed"),
        ("<adf></adf>", "no <prospect>"),
        ("<adf><prospect><id>Z1</id><customer><contact/></customer></prospect></adf>", "no usable content"),
        ("<adf><prospect><id>Z2</id>&nbsp;</prospect></adf>", "malformed ADF XML"),
    ],
)
def test_unusable_documents_raise_parse_error_with_reason(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as raised:
        parse_adf(text)
    assert not isinstance(raised.value, UnsafeXMLError)


PASSWD_XXE = """<?xml version="1.0"?>
<!DOCTYPE adf [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<adf><prospect><id>X</id>
<customer><contact><name part="full">&xxe;</name></contact></customer></prospect></adf>
"""
INTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE adf [<!ENTITY who "Injected Name">]>
<adf><prospect><id>X</id>
<customer><contact><name part="full">&who;</name></contact></customer></prospect></adf>
"""
LAUGHS = "\n".join(
    ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(2, 10)]
).replace("&lol1;", "&lol;")
BILLION_LAUGHS = (
    f'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n{LAUGHS}\n]>\n'
    "<adf><prospect><id>X</id><customer><contact><name>&lol9;</name></contact></customer></prospect></adf>"
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE adf SYSTEM "http://127.0.0.1:9/adf.dtd">\n<adf><prospect/></adf>'
)
PARAMETER_ENTITY = (
    '<!DOCTYPE adf [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>'
    "<adf><prospect><id>X</id></prospect></adf>"
)


@pytest.mark.parametrize(
    "attack",
    [PASSWD_XXE, INTERNAL_ENTITY, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["external-entity-passwd", "internal-entity", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_xml_attacks_are_refused_without_expansion(attack: str) -> None:
    # Given a lead mail carrying a DTD or entity attack
    started = time.monotonic()

    # When parsed, Then it is refused as unsafe, quickly, and nothing was expanded into the message
    with pytest.raises(UnsafeXMLError, match="refused") as raised:
        parse_adf(attack.encode())
    assert time.monotonic() - started < 1.0
    message = str(raised.value)
    assert "root:" not in message
    assert "Injected Name" not in message
    assert "lollol" not in message


def test_attack_hidden_in_a_mail_body_after_a_valid_lead_is_refused() -> None:
    # Given a body whose first document is fine and whose second declares an external entity
    body = fixture("mail_body_two_leads.txt").decode() + "\n" + PASSWD_XXE
    with pytest.raises(UnsafeXMLError):
        parse_adf(body)


def test_entity_declaration_separated_from_adf_by_junk_is_refused() -> None:
    # Given a DOCTYPE cut off from the <adf> by text, so it is not the document's own prolog
    text = (
        '<!DOCTYPE adf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\nSee below:\n' + PASSWD_XXE.split("]>")[1]
    )
    with pytest.raises(UnsafeXMLError, match="entities"):
        parse_adf(text)


def test_attack_with_misleading_utf16_declaration_is_still_refused() -> None:
    data = PASSWD_XXE.replace('version="1.0"', 'version="1.0" encoding="utf-16"').encode("utf-8")
    with pytest.raises(UnsafeXMLError):
        parse_adf(data)


def test_html_doctype_in_surrounding_junk_is_not_an_attack() -> None:
    # Given an HTML body (with its own <!DOCTYPE html>) that embeds the ADF text after other markup
    body = f"<!DOCTYPE html>\n<html><body><pre>\n{adf(f'<id>H1</id>{CUSTOMER}')}\n</pre></body></html>"
    # When parsed, Then the lead is read
    assert parse_adf(body)[0].external_id == "H1"
