"""Address headers (From, Reply-To, To, Cc) read as people write them, not only as RFC 5322 allows.

Mail clients and relays write `Martinez, Kate <k@x>` (an unquoted comma), `Kate k@x` (no angle
brackets), `Kate <k@x` (one missing), encoded words hiding a comma, and now and then a whole
`Name <addr>` inside an encoded word. The stdlib's getaddresses reads the first as two addresses, one of
them "Martinez": the sender comes out empty and the reply matches nothing. Here a piece without an
address is the start of the next one's display name, and an address is never lost to an odd name.
"""

from __future__ import annotations

import binascii
import email.errors
import re
from collections.abc import Iterable
from email.header import decode_header, make_header

from replywatch.parse.types import Address

_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# A bare address: no spaces, one @, a dot in the domain part (an odd local part is still the address).
_BARE = re.compile(r"[^\s<>(),;:\"@]+@[^\s<>(),;:\"@]+")
_GROUP = re.compile(r"^[^\"<>@,]*:")  # "undisclosed-recipients:" before a group's members


def parse_addresses(values: Iterable[str]) -> list[Address]:
    """Every address of these header values (each occurrence of a header), in order, with its name."""
    found: list[Address] = []
    for value in values:
        found += _addresses(value.replace("\r", "").replace("\n", " "))
    return found


def first_address(values: Iterable[str]) -> Address | None:
    """The first address with an @ (the sender of a From header, which may list several), else None."""
    found = parse_addresses(values)
    return next((a for a in found if "@" in a.address), found[0] if found else None)


def _addresses(header: str) -> list[Address]:
    pending: list[str] = []  # pieces without an address: the start of the next one's display name
    found: list[Address] = []
    for piece in _split(_without_group(header)):
        address = _one(piece)
        if address is None:
            if piece.strip():
                pending.append(piece.strip())
            continue
        if pending:
            name = ", ".join([*pending, address.name] if address.name else pending)
            address, pending = Address(_clean_name(name), address.address), []
        found.append(address)
    if len(pending) == 1 and len(pending[0].split()) == 1:  # `From: mailer-daemon`: a local address
        found.append(Address("", pending[0].strip("<>")))
    return found


def _without_group(header: str) -> str:
    """`Friends: a@x, b@y;` → `a@x, b@y`; the group's name says nothing of who wrote."""
    stripped = header.strip()
    match = _GROUP.match(stripped)
    if match and stripped.endswith(";"):
        return stripped[match.end() : -1]
    return header


def _split(header: str) -> list[str]:
    """The header cut at commas outside quotes, angle brackets, comments and encoded words."""
    pieces: list[str] = []
    current: list[str] = []
    closing: list[str] = []  # what ends each open quote, bracket or comment
    i = 0
    while i < len(header):
        ch = header[i]
        word = _ENCODED_WORD.match(header, i) if ch == "=" and not closing else None
        if word:
            current.append(word.group(0))
            i = word.end()
            continue
        i += 1
        current.append(ch)
        if closing and ch == "\\" and i < len(header):
            current.append(header[i])
            i += 1
        elif closing and ch == closing[-1]:
            closing.pop()
        elif closing and closing[-1] == '"':
            continue
        elif ch in '"<(':
            closing.append({'"': '"', "<": ">", "(": ")"}[ch])
        elif ch == ";" and not closing:  # the end of a group, or a list written with semicolons
            current[-1] = ","
        if current[-1] == "," and not closing:
            pieces.append("".join(current[:-1]))
            current = []
    pieces.append("".join(current))
    return pieces


def _one(piece: str) -> Address | None:
    """One piece's address and name; None when it holds no address (a name cut off at a comma)."""
    found = _read(piece)
    if found is None and _ENCODED_WORD.search(piece):
        found = _read(_decode(piece))  # `=?utf-8?B?…?=` hiding a whole "Name <addr>"
    return found


def _read(piece: str) -> Address | None:
    angle = _angle(piece)
    if angle is not None:
        start, end = angle
        address = piece[start + 1 : end].strip()
        if not address:
            return None
        name = piece[:start] + " " + piece[end + 1 :]
        return Address(_clean_name(name), address.strip())
    bare = _last_bare(piece)
    if bare is None:
        return None
    name = piece[: bare.start()] + " " + piece[bare.end() :]
    return Address(_clean_name(name), bare.group(0).strip("."))


def _angle(piece: str) -> tuple[int, int] | None:
    """Where the last `<…>` outside quotes is (a missing `>` ends at the end of the piece)."""
    outside = _unquoted(piece)
    start = outside.rfind("<")
    if start < 0:
        return None
    end = outside.find(">", start)
    return start, end if end >= 0 else len(piece)


def _last_bare(piece: str) -> re.Match[str] | None:
    """The last bare address outside quotes (`Kate k@x`, `k@x (Kate)`)."""
    outside = _unquoted(piece)
    found = list(_BARE.finditer(outside))
    return found[-1] if found else None


def _unquoted(piece: str) -> str:
    """The piece with quoted text and comments blanked (same length), so only structure is searched."""
    out: list[str] = []
    closing: list[str] = []
    escaped = False
    for ch in piece:
        if escaped:
            out.append(" ")
            escaped = False
            continue
        if closing:
            escaped = ch == "\\"
            if ch == closing[-1]:
                closing.pop()
            out.append(" ")
        elif ch in '"(':
            closing.append('"' if ch == '"' else ")")
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _clean_name(raw: str) -> str:
    """The display name as a person would read it: quotes, comment parentheses and encoded words undone."""
    text = raw.strip()
    if '"' in text:
        text = re.sub(r"\\(.)", r"\1", re.sub(r'(?<!\\)"', "", text))
    text = _decode(text).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return " ".join(text.split())


def _decode(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (UnicodeDecodeError, LookupError, ValueError, binascii.Error, email.errors.MessageError):
        return text
