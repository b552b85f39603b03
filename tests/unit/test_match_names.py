"""Names as customers write them: nicknames, accents, double surnames, initials, addresses, texts."""

from __future__ import annotations

import pytest

from replywatch.match.evidence import new_text, text_names
from replywatch.match.names import address_names, fold, keys_to_find_leads, lead_keys, parse_name
from replywatch.match.namescore import lead_names, name_reason, name_reasons

ROBERT_JONES = lead_names("Robert", "Jones", None)


@pytest.mark.parametrize(
    ("written", "lead", "reason"),
    [
        ("Robert Jones", ("Robert", "Jones"), "name"),
        ("JONES, ROBERT", ("Robert", "Jones"), "name"),
        ("Bob Jones", ("Robert", "Jones"), "name_nickname"),
        ("Liz Taylor", ("Elizabeth", "Taylor"), "name_nickname"),
        ("Bill Smith", ("William", "Smith"), "name_nickname"),
        ("Pepe Hernández", ("José", "Hernandez"), "name_nickname"),
        ("María José García López", ("Maria", "Garcia"), "name"),
        ("Maria Garcia", ("María José", "García López"), "name"),
        ("Mary Smith-Jones", ("Mary", "Jones"), "name"),
        ("Jon Smyth", ("John", "Smith"), "name_fuzzy"),
        ("R. Jones", ("Robert", "Jones"), "name_initial"),
        ("Dr. Robert Jones Jr.", ("Robert", "Jones"), "name"),
    ],
)
def test_a_written_name_fits_the_leads_name(written: str, lead: tuple[str, str], reason: str) -> None:
    # Given a lead's name and a name as a customer's mail client shows it
    # When they are compared
    # Then the fit is named by how close it is
    assert name_reason(parse_name(written, "display"), lead_names(*lead, None)) == reason


@pytest.mark.parametrize(
    ("written", "lead"),
    [
        ("Robert James", ("Robert", "Jones")),
        ("Robert Martin", ("Robert", "Martinez")),
        ("Ana Fernández", ("Ana", "Hernández")),
        ("Maria Jones", ("Robert", "Jones")),
    ],
)
def test_different_people_do_not_fit(written: str, lead: tuple[str, str]) -> None:
    assert name_reason(parse_name(written, "display"), lead_names(*lead, None)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("robert.jones@work.example", "address_name"),
        ("jones_robert@work.example", "address_name"),
        ("bobjones77@mail.example", "address_name"),
        ("rjones@work.example", "address_initial"),
        ("jonesr@work.example", "address_initial"),
        ("bjones+cars@mail.example", "address_initial"),
        ("sales@work.example", None),
    ],
)
def test_an_address_local_part_spells_the_name(address: str, reason: str | None) -> None:
    assert name_reason(address_names(address), ROBERT_JONES) == reason


def test_a_display_name_and_an_address_that_agree_give_two_reasons() -> None:
    found = parse_name("Bob Jones", "display") + address_names("rjones@acme.example")
    assert name_reasons(found, ROBERT_JONES) == {"name_nickname", "address_initial"}


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("hey this is rob jones, texting from my wife's phone", "rob", ("jones",)),
        ("Hola, soy María García. ¿Sigue disponible?", "maria", ("garcia",)),
        ("Rob Jones here, still interested", "rob", ("jones",)),
        ("Sounds good.\n\nThanks,\nMaria", "maria", ()),
        ("It's Liz again - can I come at 5?", "liz", ()),
    ],
)
def test_names_given_in_the_text(text: str, first: str, last: tuple[str, ...]) -> None:
    names = text_names(text)
    assert names and (names[0].first, names[0].last) == (first, last)


@pytest.mark.parametrize("text", ["Who is this?", "It's great, thanks", "this is the best price?", "Yes!"])
def test_ordinary_replies_name_nobody(text: str) -> None:
    assert text_names(text) == []


def test_quoted_history_is_not_the_customers_text() -> None:
    # Given a reply quoting our follow-up, signed by the associate
    text = "Yes, Saturday works\n\nOn Mon, Nov 2, 2026, Dana Lee wrote:\n> Best,\n> Dana Lee\n"
    # Then only the customer's new text is read for names
    assert new_text(text) == "Yes, Saturday works\n"
    assert text_names(new_text(text)) == []


def test_blocking_keys_meet_across_nicknames_accents_and_spelling_slips() -> None:
    # Given the keys a lead is stored under and the keys a message looks up
    stored = lead_keys(lead_names("Robert", "Johnson", None)[0])
    for written in ("Bob Johnson", "Rob Jonhson", "R Johnson", "Robert Johnsen"):
        looked_up = keys_to_find_leads(parse_name(written, "display")[0])
        # Then they share a key, so the lead is found without reading the others
        assert stored & looked_up, written
    assert fold("José O’Brien-Núñez") == "jose obrien-nunez"


@pytest.mark.parametrize(
    ("written", "lead"),
    [
        ("Liz Taylor", ("Elizabeth", "Taylor")),
        ("Elizabeth Taylor", ("Liz", "Taylor")),
        ("Pepe Hernández", ("José", "Hernandez")),
        ("Kate Smith", ("Katherine", "Smith")),
        ("Bill Smith", ("William", "Smith")),
        ("Robert Jones", ("Bob", "Jones")),
    ],
)
def test_a_nickname_finds_the_formal_name_and_back(written: str, lead: tuple[str, str]) -> None:
    stored = lead_keys(lead_names(*lead, None)[0])
    assert stored & keys_to_find_leads(parse_name(written, "display")[0])
