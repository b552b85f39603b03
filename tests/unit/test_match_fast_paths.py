"""Fast paths of matching give what the general way gives: the skipped work could have found nothing."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from replywatch.match.evidence import _HERE, _INTRO, _SIGN_OFF, _intro_name, text_names
from replywatch.match.names import PersonName

# Pieces that make the scans match (in any case, and with the non-ASCII letters IGNORECASE folds to
# ASCII ones) or nearly match.
PIECES = st.sampled_from(
    [
        "this is ",
        "This Is ",
        "thİs ıs ",
        "it's ",
        "ıt's ",
        "its ",
        "it is ",
        "my name is ",
        "MY NAME IS ",
        "i am ",
        "I'm ",
        "im ",
        "soy ",
        "ſoy ",
        "me llamo ",
        "habla ",
        "le escribe ",
        " here",
        " Here",
        "Rob ",
        "Rob Jones ",
        "María ",
        "José García ",
        "Kate ",
        "\u212aate ",
        "thanks",
        "Thanks,",
        "Saludos,\n",
        "\n",
        "\r\n",
        "\u2028",
        " ",
        ", ",
        ". ",
        "-",
        "'",
        "5",
        "x",
    ]
)
TEXTS = st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=40)


def _scanned(text: str) -> list[PersonName]:
    """text_names as it reads every text, with no test to skip a scan."""
    found = [_intro_name(m.group(1), "text") for m in _INTRO.finditer(text)]
    found += [_intro_name(m.group(1), "text") for m in _HERE.finditer(text)]
    lines = [line.strip() for line in text.splitlines()]
    found += [_intro_name(n, "signature") for line, n in pairwise(lines) if _SIGN_OFF.match(line) and n]
    return [n for n in found if n is not None]


@settings(max_examples=1500)
@given(TEXTS)
def test_text_names_skips_only_scans_that_find_nothing(text: str) -> None:
    # Given any text, When its names are read, Then they are those a scan of every text finds
    assert text_names(text) == _scanned(text)


def test_text_names_still_reads_introductions_signatures_and_non_ascii_ones() -> None:
    assert [n.first for n in text_names("Hi, this is Rob Jones")] == ["rob"]
    assert [n.first for n in text_names("Rob here")] == ["rob"]
    assert [n.first for n in text_names("Thanks,\nMaria Lopez")] == ["maria"]
    # "ı" (dotless i) is "i" to the case-insensitive scan: such a text is always scanned
    assert [n.first for n in text_names("thıs is Rob")] == ["rob"]
