"""Address headers as mail clients and relays really write them: every address is found, whatever its name."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replywatch.parse.addresses import first_address, parse_addresses
from replywatch.parse.email import parse_email
from replywatch.parse.types import Address

_LOCAL = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,14}[a-z0-9])?", fullmatch=True)
_DOMAIN = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8}){0,2}\.[a-z]{2,6}", fullmatch=True)
_ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", _LOCAL, _DOMAIN)
# A word of a name: letters of any script, with the apostrophes, hyphens and dots names carry.
_WORD = st.text(
    st.characters(categories=["Lu", "Ll", "Lo"]) | st.sampled_from("'-."), min_size=1, max_size=12
).filter(lambda w: any(ch.isalpha() for ch in w))
_SEPARATOR = st.sampled_from([" ", ", "])  # "Kate Martinez" or "Martinez, Kate", unquoted


@st.composite
def _names(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=4))
    return words[0] + "".join(draw(_SEPARATOR) + word for word in words[1:])


_NAME = _names()


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encoded(name: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="


# Each way of writing one address, as (header text, the name a reader should get).
SHAPES = {
    "unquoted": lambda name, addr: (f"{name} <{addr}>", name),
    "quoted": lambda name, addr: (f"{_quoted(name)} <{addr}>", name),
    "encoded": lambda name, addr: (f"{_encoded(name)} <{addr}>", name),
    "bare": lambda name, addr: (addr, ""),
    "angle only": lambda name, addr: (f"<{addr}>", ""),
    "no brackets": lambda name, addr: (f"{name} {addr}", name),
    "comment": lambda name, addr: (f"{addr} ({name.replace(',', '')})", name.replace(",", "")),
    "unclosed": lambda name, addr: (f"{name} <{addr}", name),
}
_WRITTEN = st.tuples(st.sampled_from(sorted(SHAPES)), _NAME, _ADDRESS)


def _spaced(name: str) -> str:
    return " ".join(name.split())


@given(st.lists(_WRITTEN, min_size=1, max_size=4))
def test_every_address_is_found_with_its_name_whatever_the_shape(written: list[tuple[str, str, str]]) -> None:
    # Given a header listing addresses written in any of the shapes mail really has
    # (only the last may be left without its closing bracket: nothing after it could be read)
    shaped = [SHAPES[shape](name, addr) for shape, name, addr in written]
    shaped = [
        SHAPES["unquoted"](name, addr) if shape == "unclosed" and n < len(written) - 1 else text_name
        for n, ((shape, name, addr), text_name) in enumerate(zip(written, shaped, strict=True))
    ]
    header = ", ".join(text for text, _ in shaped)
    # When it is read
    found = parse_addresses([header])
    # Then each address comes back, in order, with the name a person would read
    assert [a.address for a in found] == [addr for _, _, addr in written]
    assert [a.name for a in found] == [_spaced(name) for _, name in shaped]


@given(_NAME, _ADDRESS, st.sampled_from(sorted(SHAPES)))
def test_the_sender_is_never_lost_to_its_display_name(name: str, address: str, shape: str) -> None:
    text, _ = SHAPES[shape](name, address)
    raw = f"From: {text}\nTo: dana@store.example\nSubject: hi\nMessage-ID: <1@x>\n\nStill available?\n"
    mail = parse_email(raw.encode(), fallback_date=datetime(2026, 11, 2, tzinfo=UTC))
    assert mail.sender is not None and mail.sender.address == address


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Martinez, Kate <kmartinez@yahoo.example>", [Address("Martinez, Kate", "kmartinez@yahoo.example")]),
        ('"Last, First" <a@b.example>', [Address("Last, First", "a@b.example")]),
        ("=?utf-8?q?Mart=C3=ADnez=2C_Kate?= <k@x.example>", [Address("Martínez, Kate", "k@x.example")]),
        ("=?utf-8?b?S2F0ZSA8a0B4LmV4YW1wbGU+?=", [Address("Kate", "k@x.example")]),  # all one encoded word
        (
            "Friends: a@b.example, Jones, Bob <d@e.example>;",
            [Address("", "a@b.example"), Address("Jones, Bob", "d@e.example")],
        ),
        ("undisclosed-recipients:;", []),
    ],
)
def test_shapes_seen_in_real_mail(header: str, expected: list[Address]) -> None:
    assert parse_addresses([header]) == expected


def test_several_from_addresses_give_the_first_as_sender_and_keep_them_all() -> None:
    raw = b"From: Jones, Bob <bob@home.example>, Ann Jones <ann@home.example>\nSubject: hi\n\nHello\n"
    mail = parse_email(raw)
    assert mail.sender == Address("Jones, Bob", "bob@home.example")
    assert [a.address for a in mail.senders] == ["bob@home.example", "ann@home.example"]


def test_a_from_without_any_address_gives_no_sender() -> None:
    assert first_address(["Martinez, Kate"]) is None


def test_a_local_address_alone_is_kept() -> None:
    # `From: mailer-daemon`, as some MTAs write their bounces
    assert first_address(["mailer-daemon"]) == Address("", "mailer-daemon")
