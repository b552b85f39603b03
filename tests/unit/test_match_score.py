"""Scoring and deciding: thresholds, the margin between two people, one person's several leads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from replywatch.classify.rules import default_rules_dir
from replywatch.domain.lead import LeadRef
from replywatch.domain.vocabulary import MatchStatus
from replywatch.match.policy import check_policy, load_policy
from replywatch.match.score import Candidate, decide

POLICY = load_policy(default_rules_dir())
SENT = datetime(2026, 11, 10, 15, tzinfo=UTC)


def lead(lead_id: int, first: str, last: str, day: int, touched: bool = False) -> LeadRef:
    received = datetime(2026, 11, day, 15, tzinfo=UTC)
    return LeadRef(lead_id, received, 1, 1, first, last, f"{first} {last}", "2025 Honda CR-V EX-L")


def candidate(ref: LeadRef, *reasons: str, touched: bool = False) -> Candidate:
    return Candidate(ref, set(reasons), touched_before=touched)


def test_an_exact_address_matches_and_corroboration_only_adds() -> None:
    decision = decide([candidate(lead(1, "Ana", "Diaz", 2), "from_email", "store")], SENT, POLICY)
    assert (decision.status, decision.lead_id, decision.score) == (MatchStatus.MATCHED, 1, 0.97)
    assert (
        decide([candidate(lead(1, "Ana", "Diaz", 2), "store", "vehicle")], SENT, POLICY).status
        == MatchStatus.UNMATCHED
    )


def test_a_name_alone_goes_to_review_and_with_corroboration_matches() -> None:
    rob = lead(1, "Robert", "Jones", 2)
    assert decide([candidate(rob, "name_nickname")], SENT, POLICY).status == MatchStatus.REVIEW
    both = decide(
        [candidate(rob, "name_nickname", "address_initial", "associate", "store", "vehicle")], SENT, POLICY
    )
    assert both.status == MatchStatus.MATCHED


def test_two_people_within_the_margin_go_to_review_never_a_coin_toss() -> None:
    # Given a household phone on two leads, and a text naming neither
    maria, jose = lead(1, "Maria", "Garcia", 2), lead(2, "Jose", "Garcia", 3)
    decision = decide([candidate(maria, "from_phone"), candidate(jose, "from_phone")], SENT, POLICY)
    # Then a person decides, with both candidates shown
    assert decision.status == MatchStatus.REVIEW
    assert [c["lead_id"] for c in decision.reasons] == [2, 1]


def test_the_lead_we_last_texted_at_a_shared_number_wins() -> None:
    maria, jose = lead(1, "Maria", "Garcia", 2), lead(2, "Jose", "Garcia", 3)
    decision = decide(
        [candidate(maria, "from_phone", "last_texted"), candidate(jose, "from_phone")], SENT, POLICY
    )
    assert (decision.status, decision.lead_id) == (MatchStatus.MATCHED, 1)


def test_a_repeat_shopper_reply_goes_to_the_latest_lead_touched_before_it() -> None:
    # Given one shopper's three leads with the same address; the latest was never answered
    old, mid, new = lead(1, "Ana", "Diaz", 1), lead(2, "Ana", "Díaz", 5), lead(3, "Ana", "Diaz", 9)
    candidates = [
        candidate(old, "from_email", touched=True),
        candidate(mid, "from_email", touched=True),
        candidate(new, "from_email"),
    ]
    # Then the reply goes to the latest lead we had touched
    assert (decide(candidates, SENT, POLICY).status, decide(candidates, SENT, POLICY).lead_id) == (
        MatchStatus.MATCHED,
        2,
    )


def test_a_reply_in_a_thread_goes_to_the_lead_it_answers() -> None:
    old, new = lead(1, "Ana", "Diaz", 1), lead(2, "Ana", "Diaz", 9)
    candidates = [
        candidate(old, "from_email", "thread", touched=True),
        candidate(new, "from_email", touched=True),
    ]
    assert decide(candidates, SENT, POLICY).lead_id == 1


def test_the_policy_file_is_checked_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "30-matching.toml"
    text = "[matching]\nauto = 0.9\nreview = 1.5\n[matching.weights]\nthread = 1.0\nsmell = 0.4\n"
    assert check_policy(path, text) == [
        f"{path}:3: review must be a number from 0 to 1",
        f"{path}:6: unknown reason 'smell' in weights",
    ]


@pytest.mark.parametrize("auto", [0.95, 0.99])
def test_thresholds_come_from_the_rules_folder(tmp_path: Path, auto: float) -> None:
    (tmp_path / "30-matching.toml").write_text(
        f"[matching]\nauto = {auto}\n[matching.weights]\nfrom_email = 0.95\n"
    )
    policy = load_policy(tmp_path)
    decision = decide([candidate(lead(1, "Ana", "Diaz", 2), "from_email")], SENT, policy)
    assert decision.status == (MatchStatus.MATCHED if auto <= 0.95 else MatchStatus.REVIEW)


def test_rules_check_validates_the_matching_file_beside_the_rules(tmp_path: Path) -> None:
    from replywatch.classify.rules import check_rules, default_rules_dir

    # Given the shipped rules folder, and a copy whose matching file has a misspelt reason
    assert check_rules(default_rules_dir()) == []
    for path in default_rules_dir().glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    policy = tmp_path / "30-matching.toml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("name_fuzzy = 0.72", "name_fuzy = 0.72"))
    # When the folder is checked, Then the error names the file and line, and no rule file is blamed
    errors = check_rules(tmp_path)
    assert (
        len(errors) == 1 and errors[0].startswith(f"{policy}:") and "unknown reason 'name_fuzy'" in errors[0]
    )


def shopper(*reasons_by_day: tuple[int, tuple[str, ...], bool]) -> list[Candidate]:
    """One shopper's leads (same address), each received on a day with its reasons and whether touched."""
    return [
        candidate(lead(n, "Ana", "Diaz", day), "from_email", *reasons, touched=touched)
        for n, (day, reasons, touched) in enumerate(reasons_by_day, 1)
    ]


def chosen(candidates: list[Candidate]) -> tuple[int | None, object]:
    decision = decide(candidates, SENT, POLICY)
    assert decision.status == MatchStatus.MATCHED
    return decision.lead_id, decision.reasons[0].get("chosen_by")


def test_of_one_shoppers_leads_the_one_whose_associate_was_written_to_wins_over_the_recent_touch() -> None:
    # Given an older lead we wrote to lately, and a newer one not yet touched whose associate she wrote to
    candidates = shopper((1, ("recent_touch",), True), (8, ("associate", "store"), False))
    # Then the reply goes to the lead whose associate it was written to, and says so
    assert chosen(candidates) == (2, "associate")


def test_the_store_written_to_picks_among_leads_at_two_stores() -> None:
    candidates = shopper((1, ("store",), True), (8, (), True))
    assert chosen(candidates) == (1, "store")


def test_the_car_named_picks_when_associate_and_store_are_the_same() -> None:
    candidates = shopper((1, ("associate", "store", "vehicle"), True), (8, ("associate", "store"), True))
    assert chosen(candidates) == (1, "vehicle")


def test_the_thread_outranks_every_other_evidence() -> None:
    candidates = shopper((1, ("thread",), True), (8, ("associate", "store", "vehicle"), True))
    assert chosen(candidates) == (1, "thread")


def test_without_evidence_the_latest_lead_touched_wins() -> None:
    assert chosen(shopper((1, (), True), (5, (), True), (8, (), False))) == (2, "touched")
    assert chosen(shopper((1, (), True), (5, (), True))) == (2, "latest")


def test_the_reason_shows_in_the_review_screen_words() -> None:
    from replywatch.cli.review_screen import describe

    assert describe(["from_email", "chosen_by:associate"]) == (
        "sender address, of the shopper's leads: the one whose associate was written to"
    )


def test_a_namesake_within_the_margin_is_set_apart_only_by_the_car_named() -> None:
    # Given two people named Michael Brown, and a mail from a work address naming one lead's car
    ours, other = lead(1, "Michael", "Brown", 2), lead(2, "Michael", "Brown", 4)
    named = [
        candidate(ours, "name", "associate", "store", "vehicle"),
        candidate(other, "name", "associate", "store"),
    ]
    # Then it goes to the lead whose car it names
    assert (decide(named, SENT, POLICY).status, decide(named, SENT, POLICY).lead_id) == (
        MatchStatus.MATCHED,
        1,
    )
    # But the associate written to alone, or a car both leads have, leaves it to a person
    written = [candidate(ours, "name", "associate", "store"), candidate(other, "name", "store")]
    assert decide(written, SENT, POLICY).status == MatchStatus.REVIEW
    both = [candidate(ours, "name", "associate", "vehicle"), candidate(other, "name", "associate", "vehicle")]
    assert decide(both, SENT, POLICY).status == MatchStatus.REVIEW
