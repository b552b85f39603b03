"""Reply text: what a person newly wrote, without quoted history, quote headers and signature."""

from __future__ import annotations

import tomllib
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import SHARED, need

from replywatch.classify.classify import email_reply_text
from replywatch.ingest.prepare import read_email
from replywatch.parse.replies import reply_text

EXPECTED = Path(__file__).resolve().parents[1] / "fixtures" / "reply_text_expected.toml"
BODIES = SHARED / "corpus" / "reply_bodies"
# Kept on purpose, unlike the origin test: a sign-off names the writer, and matching reads the name there.
SIGN_OFF_KEPT = {"crisp-oss-email_with_regards.txt"}


def lines(text: str) -> list[str]:
    """Non-blank lines without trailing space: how reply texts are compared."""
    return [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def expectations() -> dict[str, dict[str, object]]:
    return tomllib.loads(EXPECTED.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(expectations()))
def test_reply_text_of_each_corpus_body(name: str) -> None:
    # Given a real reply body and the new text its origin's tests (or a hand label) say it holds
    if not BODIES.is_dir():
        need(f"reply bodies at {BODIES}", "the labelled corpus (../shared/corpus beside the repository)")
    body = (BODIES / name).read_bytes().decode("utf-8")
    wanted = expectations()[name]
    expected = lines(body) if wanted.get("whole") else lines(str(wanted["text"]))
    # When its reply text is taken
    found = lines(reply_text(body))
    # Then it is exactly the new text (a kept sign-off follows it whole)
    if name in SIGN_OFF_KEPT:
        assert found[: len(expected)] == expected and found[len(expected)] == "Regards,"
    else:
        assert found == expected


def test_every_corpus_body_has_an_expectation() -> None:
    if not BODIES.is_dir():
        need(f"reply bodies at {BODIES}", "the labelled corpus (../shared/corpus beside the repository)")
    assert sorted(p.name for p in BODIES.iterdir()) == sorted(expectations())


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Nov 2, 2026 at 9:14 AM Dana Lee <dana@mainstreethonda.example> wrote:",
        "El lun, 2 nov 2026 a las 9:14, Dana Lee (<dana@mainstreethonda.example>) escribió:",
        "Le lun. 2 nov. 2026 à 09:14, Dana Lee <dana@mainstreethonda.example> a écrit :",
        "Am Mo., 2. Nov. 2026 um 09:14 Uhr schrieb Dana Lee <dana@mainstreethonda.example>:",
        "Am 02.11.2026 um 09:14 schrieb Dana Lee:",
        "2026-11-02 9:14 GMT-06:00 Dana Lee <dana@mainstreethonda.example>:",
        "On Nov 2, 2026, at 9:14 AM, Dana Lee <dana@mainstreethonda.example> wrote:",
    ],
)
def test_wrote_lines_in_four_languages_end_the_new_text(header: str) -> None:
    # Given a top-posted reply over Gmail/Apple Mail history, in English, Spanish, French or German
    body = f"Sí, el sábado a las 10 me queda bien.\n\n{header}\n\n> ¿Cuándo puede venir?\n> Dana\n"
    # When its reply text is taken, Then only the answer is left
    assert reply_text(body) == "Sí, el sábado a las 10 me queda bien."


def test_a_wrote_line_wrapped_over_three_lines() -> None:
    header = "On Mon, Nov 2, 2026 at 9:14 AM Dana Lee\n<dana@mainstreethonda.example>\nwrote:"
    body = f"Works for me.\n\n{header}\n> Hi"
    assert reply_text(body) == "Works for me."


@pytest.mark.parametrize(
    "history",
    [
        "From: Dana Lee <dana@mainstreethonda.example>\nSent: Monday, November 2, 2026 9:14 AM\n"
        "To: Pat <pat@example.com>\nSubject: Your CR-V\n\nHi Pat, is Saturday good?",
        "________________________________\nFrom: Dana Lee <dana@mainstreethonda.example>\n"
        "Sent: Monday, November 2, 2026 9:14 AM\nTo: Pat\nSubject: Your CR-V\n\nHi Pat",
        "*From:* Dana Lee [mailto:dana@mainstreethonda.example]\n*Sent:* Monday, November 2, 2026\n\nHi Pat",
        "De: Dana Lee <dana@mainstreethonda.example>\nEnviado: lunes, 2 de noviembre de 2026 9:14\n"
        "Para: Pat\nAsunto: Su CR-V\n\nHola Pat",
        "-----Original Message-----\nFrom: Dana Lee\nSubject: Your CR-V\n\nHi Pat",
        "----- Mensaje original -----\nHola Pat",
        "---------- Forwarded message ---------\nFrom: Dana Lee <dana@mainstreethonda.example>\n\nHi Pat",
    ],
)
def test_outlook_blocks_and_separators_end_the_new_text(history: str) -> None:
    # Given an Outlook-style reply: the history below is not quoted with ">"
    body = f"Saturday works. What time do you open?\n\n{history}\n"
    # When its reply text is taken, Then the unquoted history is gone too
    assert reply_text(body) == "Saturday works. What time do you open?"


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Verizon, Samsung Galaxy smartphone",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Enviado desde mi iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Sent from Yahoo Mail for Android",
    ],
)
def test_mobile_footers_are_dropped(footer: str) -> None:
    assert reply_text(f"Yes, still interested!\n\n{footer}\n") == "Yes, still interested!"


def test_a_sentence_that_starts_like_a_footer_stays() -> None:
    body = "Here is the title.\n\nSent from my desk, the scanner is faster than my phone."
    assert reply_text(body) == body


def test_the_signature_after_the_delimiter_goes_but_a_sign_off_stays() -> None:
    # Given a reply with a sign-off and a "-- " signature block
    body = "Can I come at 5?\n\nThanks,\nPat Customer\n\n-- \nPat Customer | Acme Plumbing | 512-555-0199"
    # Then the name under the sign-off stays (matching reads it) and the signature block goes
    assert reply_text(body) == "Can I come at 5?\n\nThanks,\nPat Customer"


def test_inline_answers_between_quotes_are_kept() -> None:
    body = "> Is Saturday good?\n\nYes, 10am.\n\n> Trade-in?\n\nA 2016 Accord.\n\n> Dana"
    assert reply_text(body) == "Yes, 10am.\n\nA 2016 Accord."


@pytest.mark.parametrize(
    "body",
    [
        "On Thursday I can come by after work.",
        "On the other hand, the 2024 is cheaper.\nOn average I drive 40 miles.",
        "My wife wrote: we need the third row.",
        "The price you quoted was $31,500.\nDate: any day next week works.",
    ],
)
def test_text_that_only_looks_like_a_header_is_kept(body: str) -> None:
    assert reply_text(body) == body


def test_a_limit_stops_reading_once_that_much_new_text_is_kept() -> None:
    body = "word " * 5000 + "\n\nOn Mon, Nov 2, 2026, Dana <d@x.example> wrote:\n> hi"
    assert reply_text(body, limit=1000) == reply_text(body)[:1000]
    assert len(reply_text(body, limit=1000)) == 1000


def html_only(html: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "pat@example.com", "dana@mainstreethonda.example", "Re: CR-V"
    msg["Date"] = "Mon, 02 Nov 2026 18:00:00 +0000"
    msg.set_content(html, subtype="html")
    return msg.as_bytes()


@pytest.mark.parametrize(
    "html",
    [
        # Gmail
        '<div dir="ltr">Saturday at 10 works.</div><br><div class="gmail_quote"><div class="gmail_attr">'
        "On Mon, Nov 2, 2026 at 9:14 AM Dana Lee &lt;dana@mainstreethonda.example&gt; wrote:<br></div>"
        '<blockquote class="gmail_quote">Is Saturday good?</blockquote></div>',
        # Outlook
        '<html><body><p>Saturday at 10 works.</p><hr><div id="divRplyFwdMsg"><b>From:</b> Dana Lee'
        " &lt;dana@mainstreethonda.example&gt;<br><b>Sent:</b> Monday, November 2, 2026 9:14 AM<br>"
        "<b>To:</b> Pat<br><b>Subject:</b> Your CR-V</div><div>Is Saturday good?</div></body></html>",
        # Apple Mail
        '<html><body><div>Saturday at 10 works.<br><br><blockquote type="cite">On Nov 2, 2026, at 9:14 AM,'
        " Dana Lee &lt;dana@mainstreethonda.example&gt; wrote:<br><br>Is Saturday good?</blockquote>"
        "</div></body></html>",
    ],
)
def test_html_only_mail_is_converted_to_text_before_its_reply_text_is_taken(html: str) -> None:
    # Given a reply with an HTML part only, its history in blockquotes or an Outlook block
    mail = read_email(html_only(html))
    # When its reply text is taken, Then only the answer is left
    assert email_reply_text(mail, limit=None) == "Saturday at 10 works."
