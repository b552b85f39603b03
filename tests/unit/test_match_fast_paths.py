"""Fast paths of matching give what the general way gives: the skipped work could have found nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from math import fsum
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from replywatch.classify.rules import default_rules_dir
from replywatch.domain.lead import LeadRef
from replywatch.match.candidates import CandidateIndex, _may_reach
from replywatch.match.evidence import _HERE, _INTRO, _SIGN_OFF, _intro_name, text_names
from replywatch.match.names import PersonName
from replywatch.match.policy import REASONS, MatchPolicy, load_policy
from replywatch.match.score import Candidate, _alone, _ranked, _scored
from replywatch.match.types import MatchQuery

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


SENT = datetime(2026, 11, 10, 15, tzinfo=UTC)
REASON_SETS = st.sets(st.sampled_from(REASONS), max_size=6)
# Few weights, so that the strongest reason is often tied.
WEIGHTS = st.dictionaries(st.sampled_from(REASONS), st.sampled_from((0.0, 0.6, 0.9, 0.95)))
BOOSTS = st.dictionaries(st.sampled_from(REASONS), st.sampled_from((0.0, 0.02, 0.05, 0.07, 0.1)))


def _strength_of(policy: MatchPolicy, reasons: set[str]) -> float:
    """MatchPolicy.strength as the policy file defines it, remembering nothing: the greatest weight plus the
    boosts of the other reasons; of reasons tied for that weight, whichever leaves the most boost."""
    if not reasons:
        return 0.0
    base = max(policy.weights.get(r, 0.0) for r in reasons)
    if base <= 0.0:
        return 0.0
    tied = [r for r in reasons if policy.weights.get(r, 0.0) == base]
    return max(round(base + fsum(policy.boosts.get(r, 0.0) for r in reasons - {t}), 4) for t in tied)


@settings(max_examples=500)
@given(WEIGHTS, BOOSTS, st.lists(st.lists(st.sampled_from(REASONS), max_size=6), max_size=8))
def test_a_remembered_strength_is_the_one_reading_the_set_gives(
    weights: dict[str, float], boosts: dict[str, float], orders: list[list[str]]
) -> None:
    # Given one policy and sets of reasons built in many orders (ties between strongest reasons included)
    policy = MatchPolicy(weights=weights, boosts=boosts)
    for order in orders * 2:
        reasons = set(order)
        # Then each strength, remembered or not, is what reading that set gives
        assert policy.strength(reasons) == _strength_of(policy, reasons)


@settings(max_examples=300)
@given(WEIGHTS, BOOSTS, st.lists(st.sampled_from(REASONS), min_size=1, max_size=6, unique=True), st.randoms())
def test_a_strength_does_not_depend_on_the_order_of_the_reasons(
    weights: dict[str, float], boosts: dict[str, float], reasons: list[str], random: Random
) -> None:
    # Given a policy where reasons tie for the greatest weight with different boosts (a set's order of
    # strings differs from run to run)
    policy = MatchPolicy(weights=weights, boosts=boosts)
    shuffled = random.sample(reasons, len(reasons))
    # Then the strength is the same in any order
    assert policy._strength(tuple(reasons)) == policy._strength(tuple(shuffled))


def test_tied_strongest_reasons_count_the_larger_boost() -> None:
    # Given two reasons of equal weight, one with a boost and one without
    policy = MatchPolicy(weights={"from_email": 0.9, "recipient_email": 0.9}, boosts={"from_email": 0.05})
    # Then the one without a boost is the strongest, and the other's boost counts, in either order
    assert policy._strength(("from_email", "recipient_email")) == 0.95
    assert policy._strength(("recipient_email", "from_email")) == 0.95


@settings(max_examples=500)
@given(REASON_SETS, st.integers(-20, 20), st.booleans(), st.booleans())
def test_a_lone_candidate_is_decided_as_ranking_one_would(
    reasons: set[str], days: int, touched: bool, ours: bool
) -> None:
    # Given one candidate that scores, of any reasons, received before or after the message
    policy = load_policy(default_rules_dir())
    ref = LeadRef(7, SENT + timedelta(days=days), 1, 1, "Ana", "Diaz", None, None)
    lone = Candidate(ref, set(reasons), touched_before=touched)
    if _scored(lone, policy) > 0:
        # Then the short way decides as ranking a list of one does
        assert _alone(lone, policy) == _ranked([lone], SENT, policy, ours)


VALUES = st.sampled_from(("+15125550100", "+15125550101", "ana@example.com", "ana+x@example.com", "<m1@x>"))
ROLES = st.sampled_from(("from", "reply_to", "to", "cc", "loose", "text_phone", "ref", "name"))


@settings(max_examples=500)
@given(
    st.dictionaries(VALUES, st.sampled_from(("phone", "email", "loose")), max_size=3),
    st.dictionaries(VALUES, st.just(True), max_size=2),
    st.dictionaries(ROLES, st.lists(VALUES, max_size=2), max_size=4),
    st.sampled_from(("inbound", "outbound")),
)
def test_a_text_that_cannot_reach_a_lead_has_no_candidate(
    identities: dict[str, str], threads: dict[str, bool], keys: dict[str, list[str]], direction: str
) -> None:
    # Given leads under some addresses, numbers and thread headers, and a message with some keys
    ref = LeadRef(7, SENT, 1, 1, "Ana", "Diaz", None, None)
    index = CandidateIndex({v: [(kind, ref)] for v, kind in identities.items()}, dict.fromkeys(threads, ref))
    query = MatchQuery(direction, SENT, keys, "sms")
    # When load() would not read our texts to its number, Then it has no candidate that they could corroborate
    if not _may_reach(query, index.by_identity):
        assert index.candidates(query, 30) == []
