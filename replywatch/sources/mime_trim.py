"""A local mail file cut down to what the IMAP source would fetch of it, with the very same per-part caps.

The file's MIME tree is found by scanning for its boundaries (no parse of the bodies), then the parts
worth reading (text up to the cap, XML, reports) are kept and the rest (photos, PDFs) become the same
placeholders with their size as over IMAP. A 135 MB mail is thus parsed as a few kilobytes, from a
Maildir as from IMAP.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from itertools import pairwise

from replywatch.sources.imap_mime import Part, assemble, wanted_bytes

LOCAL_TEXT_PART_CAP = 256 * 1024  # the IMAP source's default text_part_cap
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_MAX_DEPTH = (
    20  # nested multiparts beyond this are kept as one leaf, as a server's BODYSTRUCTURE would not go on
)


def trimmed(raw: bytes, cap: int) -> bytes:
    """`raw` as the IMAP source would assemble it; a mail no larger than `cap` is returned as it is."""
    if len(raw) <= cap:
        return raw
    header_end = _header_end(raw, 0, len(raw))
    header = _crlf(raw[:header_end])
    got: dict[bytes, bytes] = {}
    root = _part(raw, header, header_end, len(raw), "", cap, got, 0)
    return assemble(root, header, got)


def _crlf(header: bytes) -> bytes:
    """Header lines end in CRLF, as an IMAP server returns them (and as the placeholders are written)."""
    return _LINE_END.sub(b"\r\n", header)


def _header_end(raw: bytes, start: int, end: int) -> int:
    """Where the body begins: after the first blank line (or at once, for a part without headers)."""
    if raw.startswith((b"\r\n", b"\n"), start):
        return start + (2 if raw.startswith(b"\r\n", start) else 1)
    found = _BLANK_LINE.search(raw, start, end)
    return found.end() if found else end


def _part(
    raw: bytes,
    header: bytes,
    start: int,
    end: int,
    number: str,
    cap: int,
    got: dict[bytes, bytes],
    depth: int,
) -> Part:
    """The Part for the body raw[start:end] under `header`; what is worth reading goes into `got`."""
    message = BytesHeaderParser(policy=compat32).parsebytes(header)
    ctype = message.get_content_type().lower()
    boundary = message.get_boundary()
    if ctype.startswith("multipart/") and boundary and depth < _MAX_DEPTH:
        delimiter = b"--" + boundary.encode("ascii", "replace")
        children = []
        for index, (child_start, child_end) in enumerate(_children(raw, delimiter, start, end), start=1):
            child_number = f"{number}.{index}" if number else str(index)
            body_start = _header_end(raw, child_start, child_end)
            child_header = _crlf(raw[child_start:body_start])
            got[f"BODY[{child_number}.MIME]".encode()] = child_header
            children.append(
                _part(raw, child_header, body_start, child_end, child_number, cap, got, depth + 1)
            )
        return Part(number, ctype, boundary=delimiter[2:], children=tuple(children))
    names = [message.get_param("name"), message.get_filename()]
    leaf = Part(
        number or "1",
        ctype,
        size=end - start,
        encoding=str(message.get("content-transfer-encoding", "")).strip().lower(),
        attachment=message.get_content_disposition() == "attachment",
        xml_name=any(isinstance(n, str) and n.lower().endswith(".xml") for n in names),
    )
    want = wanted_bytes(leaf, cap)
    if want is not None:
        got[f"BODY[{leaf.number}]<0>".encode()] = raw[start : start + max(want, 1)]
    return leaf


def _children(raw: bytes, delimiter: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each body part between the delimiter lines of a multipart body."""
    marks: list[tuple[int, int, bool]] = []  # (line start, line end, closing)
    at = start
    while (found := raw.find(delimiter, at, end)) != -1:
        at = found + len(delimiter)
        if found != start and raw[found - 1 : found] != b"\n":
            continue  # not at the start of a line
        closing = raw.startswith(b"--", at)
        line_end = raw.find(b"\n", at, end)
        marks.append((found, end if line_end == -1 else line_end + 1, closing))
        if closing:
            break
    spans = []
    for (_, body_start, closing), (next_start, _, _) in pairwise(marks):
        if not closing:
            spans.append((body_start, _before_line_break(raw, next_start)))
    if marks and not marks[-1][2]:  # no closing delimiter (a cut file): the last part runs to the end
        spans.append((marks[-1][1], end))
    return spans


def _before_line_break(raw: bytes, at: int) -> int:
    """The CRLF before a delimiter belongs to the delimiter (RFC 2046)."""
    if raw[at - 2 : at] == b"\r\n":
        return at - 2
    return at - 1 if raw[at - 1 : at] == b"\n" else at
