"""BODYSTRUCTURE to the sections worth fetching, and the fetched sections back into one MIME message.

Parts left on the server (photos, PDFs) come back as empty placeholders whose Content-Disposition
carries the RFC 2183 `size` parameter, so the parser still records their names and sizes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

XML_TYPES = frozenset({"application/xml", "text/xml", "application/adf+xml"})
XML_LIMIT = 3 * 1024 * 1024  # transfer-encoded bytes; the parser keeps XML up to 2 MiB decoded
# Small machine-readable parts that tell bounces, read receipts and complaints apart.
REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
    }
)


@dataclass(frozen=True)
class Part:
    """One node of a BODYSTRUCTURE. `number` is the IMAP section ("1", "2.1"); "" for a multipart root."""

    number: str
    ctype: str
    size: int = 0
    encoding: str = ""
    attachment: bool = False
    xml_name: bool = False
    boundary: bytes = b""
    children: tuple[Part, ...] = ()

    @property
    def multipart(self) -> bool:
        return self.ctype.startswith("multipart/")


def structure(body: Any, number: str = "") -> Part:
    """imapclient's BodyData (nested tuples) to a Part tree."""
    if isinstance(body[0], list):
        kids = tuple(structure(child, _number(number, i)) for i, child in enumerate(body[0], 1))
        boundary = (_pairs(body[2]) if len(body) > 2 else {}).get("boundary", b"")
        return Part(number, f"multipart/{_text(body[1])}", boundary=boundary, children=kids)
    ctype = f"{_text(body[0])}/{_text(body[1])}"
    # The disposition follows the type-specific fields (RFC 3501 body-ext-1part).
    at = 9 if ctype.startswith("text/") else 11 if ctype in ("message/rfc822", "message/global") else 8
    disposition = body[at] if len(body) > at and isinstance(body[at], tuple) else None
    names = list(_pairs(body[2]).values())
    if disposition:
        names += list(_pairs(disposition[1] if len(disposition) > 1 else None).values())
    return Part(
        number or "1",
        ctype,
        size=int(body[6] or 0),
        encoding=_text(body[5]),
        attachment=disposition is not None and _text(disposition[0]) == "attachment",
        xml_name=any(n.lower().rstrip(b'"').endswith(b".xml") for n in names),
    )


def _number(parent: str, index: int) -> str:
    return f"{parent}.{index}" if parent else str(index)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").lower()
    return str(value or "").lower()


def _pairs(value: Any) -> dict[str, bytes]:
    if not isinstance(value, tuple):
        return {}
    items = [v if isinstance(v, bytes) else str(v).encode() for v in value]
    return {_text(k): v for k, v in zip(items[::2], items[1::2], strict=False)}


def leaves(part: Part) -> Iterator[Part]:
    if not part.multipart:
        yield part
    for child in part.children:
        yield from leaves(child)


def wanted_bytes(part: Part, cap: int) -> int | None:
    """How much of a leaf to fetch; None leaves it on the server."""
    if part.ctype in XML_TYPES or part.xml_name:
        return part.size if part.size <= XML_LIMIT else None
    if part.ctype in REPORT_TYPES or (part.ctype.startswith("text/") and not part.attachment):
        return min(part.size, cap)
    return None


def sections(root: Part, cap: int) -> tuple[str, ...]:
    """The FETCH items for the parts of one message (its HEADER is fetched with the structure)."""
    items: list[str] = []
    for part in _below(root) if root.multipart else iter([root]):
        if root.multipart:
            items.append(f"BODY.PEEK[{part.number}.MIME]")
        want = None if part.multipart else wanted_bytes(part, cap)
        if want is not None:
            items.append(f"BODY.PEEK[{part.number}]<0.{max(want, 1)}>")
    return tuple(items)


def _below(part: Part) -> Iterator[Part]:
    for child in part.children:
        yield child
        yield from _below(child)


def assemble(root: Part, header: bytes, got: Mapping[bytes, bytes]) -> bytes:
    """One parseable message from the header, the part headers and the fetched bodies."""
    if not root.multipart:
        return _leaf(root, header, got)
    return header + _multipart_body(root, got)


def _multipart_body(part: Part, got: Mapping[bytes, bytes]) -> bytes:
    boundary = part.boundary or f"replywatch-{part.number or 'root'}".encode()
    chunks = [b"--" + boundary + b"\r\n" + _child(child, got) + b"\r\n" for child in part.children]
    return b"".join(chunks) + b"--" + boundary + b"--\r\n"


def _child(part: Part, got: Mapping[bytes, bytes]) -> bytes:
    mime = got.get(f"BODY[{part.number}.MIME]".encode(), b"\r\n")
    if part.multipart:
        return mime + _multipart_body(part, got)
    return _leaf(part, mime, got)


def _leaf(part: Part, mime: bytes, got: Mapping[bytes, bytes]) -> bytes:
    body = got.get(f"BODY[{part.number}]<0>".encode())
    if body is None:
        return _placeholder(mime, part)
    if len(body) < part.size:  # cut at the cap: end on a whole line so base64 and QP still decode
        body = body[: body.rfind(b"\n") + 1] or body
    return mime + body


def _placeholder(mime: bytes, part: Part) -> bytes:
    """The part's own headers, no body, and its decoded size as Content-Disposition `size`."""
    # base64 on the wire: 76 characters and CRLF carry 57 bytes
    size = part.size * 57 // 78 if part.encoding == "base64" else part.size
    lines = mime.rstrip(b"\r\n").split(b"\r\n") if mime.strip() else []
    starts = [i for i, line in enumerate(lines) if line.lower().startswith(b"content-disposition:")]
    if not starts:
        lines.append(b"Content-Disposition: attachment; size=%d" % size)
    elif b"size=" not in b"".join(lines[starts[0] :]).lower():
        end = starts[0] + 1
        while end < len(lines) and lines[end][:1] in (b" ", b"\t"):
            end += 1
        lines[end - 1] += b";\r\n size=%d" % size
    return b"\r\n".join(lines) + b"\r\n\r\n"
