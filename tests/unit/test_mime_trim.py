"""Local mail cut to IMAP's parts (sources/mime_trim.py): never raises on broken MIME, keeps what IMAP keeps.
Fuzzed with hypothesis on a fixed budget (derandomized, bounded examples)."""

from __future__ import annotations

import contextlib
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from replywatch.errors import ParseError
from replywatch.ingest.prepare import read_email
from replywatch.sources.mime_trim import trimmed

PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b1\r\n",
        b'Content-Type: multipart/alternative; boundary="b2"\n',
        b"Content-Type: text/plain\r\n",
        b"Content-Type: image/png; name=x.png\r\nContent-Transfer-Encoding: base64\r\n",
        b"Content-Type: application/xml\r\n",
        b"\r\n",
        b"\n",
        b"--b1\r\n",
        b"--b1--\r\n",
        b"--b2\n",
        b"--b2--\n",
        b"From: a@b\r\nSubject: x\r\n",
        b"word " * 300,
    ]
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(PIECES | st.binary(max_size=40), max_size=40))
def test_any_mime_shape_is_cut_without_an_error(pieces: list[bytes]) -> None:
    # Given any arrangement of headers, boundaries and bodies; When cut with a small cap
    raw = b"".join(pieces)
    cut = trimmed(raw, 1024)
    # Then a mail of at most the cap is as it was, and the cut one parses or is a ParseError
    if len(raw) <= 1024:
        assert cut == raw
    with contextlib.suppress(ParseError):
        read_email(cut)


def test_text_is_kept_to_the_cap_and_a_photo_becomes_its_name_and_size() -> None:
    # Given a mail with a text part and a 50 kB photo; When cut with a 2 KiB cap
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "ana@example.com", "Re: car"
    msg.set_content("Saturday works.\n" * 500)
    msg.add_attachment(bytes(50_000), maintype="image", subtype="png", filename="car.png")
    mail = read_email(trimmed(msg.as_bytes(), 2048))
    # Then the text is its first 2 KiB, whole lines, and the photo is kept as name and size only
    assert mail.text.startswith("Saturday works.") and len(mail.text) <= 2048
    assert [(a.filename, a.payload, a.size > 40_000) for a in mail.attachments] == [("car.png", None, True)]
