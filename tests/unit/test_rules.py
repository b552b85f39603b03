"""Loading and validating rule files: order, first match, and every error named by file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from replywatch.classify.rules import (
    CONDITION_TYPES,
    ConditionType,
    MessageView,
    Predicate,
    check_rules,
    default_rules_dir,
    load_rules,
)
from replywatch.domain.vocabulary import Kind
from replywatch.errors import RulesError

REPLY = MessageView(channel="email", subject="Re: your Civic", sender="pat@example.com", body="Sounds good")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def rule(name: str, condition: str = 'subject_matches = "civic"', kind: str = "human") -> str:
    return f'[[rule]]\nname = "{name}"\nkind = "{kind}"\n{condition}\n\n'


def test_the_shipped_rules_are_valid() -> None:
    # Given the default rules folder; When checked; Then no errors, and every rule has a known kind
    assert check_rules(default_rules_dir()) == []
    rules = load_rules(default_rules_dir())
    assert {r.kind for r in rules.rules} <= set(Kind)
    assert len({r.name for r in rules.rules}) == len(rules.rules)


def test_files_in_name_order_and_rules_in_file_order_first_match_wins(tmp_path: Path) -> None:
    # Given two files whose rules all match the reply, written so that directory order differs from name order
    write(tmp_path, "20-late.toml", rule("late", kind="list"))
    write(tmp_path, "10-early.toml", rule("early-1", kind="auto_reply") + rule("early-2", kind="bounce"))
    write(tmp_path, "README.md", "not a rule file")
    # When loaded
    rules = load_rules(tmp_path)
    # Then the order is by file name, then within the file, and the first rule decides
    assert [r.name for r in rules.rules] == ["early-1", "early-2", "late"]
    matched = rules.first_match(REPLY)
    assert matched is not None and (matched.name, matched.kind) == ("early-1", "auto_reply")


def test_a_rule_knows_its_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.toml", "# comment\n\n" + rule("one") + rule("two"))
    rules = load_rules(tmp_path)
    assert [(r.file, r.line) for r in rules.rules] == [(str(path), 3), (str(path), 8)]


def test_all_conditions_must_hold(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", rule("both", 'subject_matches = "civic"\nsender_matches = "@dealer"'))
    assert load_rules(tmp_path).first_match(REPLY) is None


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ('header = "Auto-Submitted"\nnot_matches = "^no$"', False),  # absent header: nothing to compare
        ('header = "Auto-Submitted"\npresent = false', True),
        ('header = "AUTO-SUBMITTED"\nmatches = "."', False),
        ('channel = "sms"\nsubject_matches = "civic"', False),
        ('content_type = "text/plain"', False),
    ],
)
def test_condition_semantics(tmp_path: Path, condition: str, holds: bool) -> None:
    write(tmp_path, "10-a.toml", rule("r", condition))
    assert (load_rules(tmp_path).first_match(REPLY) is not None) is holds


def test_header_values_match_in_any_occurrence_case_insensitively(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", rule("r", 'header = "Precedence"\nmatches = "^bulk$"'))
    view = MessageView(channel="email", headers={"precedence": ["first", "BULK"]})
    assert load_rules(tmp_path).first_match(view) is not None


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[[rule]]\nname = "a"\nkind = "human"\nsubject_matches = \n', 4, "Invalid value"),
        (rule("a") + rule("b", 'subjet_matches = "x"'), 9, "unknown condition 'subjet_matches'"),
        (rule("a", kind="spam"), 3, "unknown kind 'spam'"),
        ('[[rule]]\nkind = "human"\nsubject_matches = "x"\n', 1, "rule has no name"),
        (rule("a") + rule("a"), 6, "duplicate rule name 'a'"),
        (rule("a", 'body_matches = "(unclosed"'), 4, "bad regex in body_matches"),
        ('[[rule]]\nname = "a"\nkind = "human"\n', 1, "rule 'a' has no condition"),
        (rule("a", 'matches = "x"'), 4, "matches needs header"),
        (rule("a", 'header = "Precedence"'), 4, "header needs exactly one of"),
        (rule("a", 'header = "X"\npresent = "yes"'), 5, "present must be true or false"),
        (rule("a", 'sms_body_is = "STOP"'), 4, "sms_body_is must be a non-empty list"),
        (rule("a", 'channel = "fax"'), 4, "channel must be"),
        ("rules = 1\n" + rule("a"), 1, "unknown top-level key 'rules'"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    # Given a rule file with one mistake
    path = write(tmp_path, "10-bad.toml", text)
    # When checked, Then the one error names the file and line and says what is wrong
    errors = check_rules(tmp_path)
    assert len(errors) == 1 and errors[0].startswith(f"{path}:{line}: ") and reason in errors[0], errors
    # and loading refuses with the same message
    with pytest.raises(RulesError) as refused:
        load_rules(tmp_path)
    assert str(refused.value) == errors[0]


def test_unknown_condition_suggests_the_near_name(tmp_path: Path) -> None:
    write(tmp_path, "10-a.toml", rule("a", 'subjet_matches = "x"'))
    assert "did you mean 'subject_matches'?" in check_rules(tmp_path)[0]


def test_duplicate_names_across_files_point_at_the_first(tmp_path: Path) -> None:
    first = write(tmp_path, "10-a.toml", rule("same"))
    second = write(tmp_path, "20-b.toml", rule("other") + rule("same"))
    assert check_rules(tmp_path) == [f"{second}:6: duplicate rule name 'same' (first at {first}:1)"]


def test_check_keeps_going_after_a_bad_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "10-bad.toml", "[[rule]\n")
    worse = write(tmp_path, "20-worse.toml", rule("a", kind="nope") + rule("b", 'x = "1"'))
    errors = check_rules(tmp_path)
    assert [error.split(": ")[0] for error in errors] == [f"{bad}:1", f"{worse}:3", f"{worse}:9"]


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_folder_without_rule_files_is_refused(tmp_path: Path, folder: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RulesError, match=r"not a directory|no rule files"):
        load_rules(tmp_path / folder)


def test_a_new_condition_type_slots_in_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a condition type registered under a new key
    def build(value: object, _: dict[str, object]) -> Predicate:
        return lambda view: len(view.body) < int(str(value))

    monkeypatch.setitem(CONDITION_TYPES, "body_shorter_than", ConditionType(build))
    write(tmp_path, "10-a.toml", rule("short", "body_shorter_than = 20", kind="auto_reply"))
    # When loaded and used, Then rule files may name it
    matched = load_rules(tmp_path).first_match(REPLY)
    assert matched is not None and matched.name == "short"


@pytest.mark.parametrize(
    ("condition", "reply", "holds"),
    [
        ('reply_is = ["unsubscribe"]', "Unsubscribe!", True),
        ('reply_is = ["unsubscribe"]', "How do I unsubscribe from the newsletter but keep the quote?", False),
        ("reply_matches = 'remove me'", "Please remove me", True),
        ("reply_matches = 'remove me'", "", False),
    ],
)
def test_reply_conditions_read_the_new_text_only(
    tmp_path: Path, condition: str, reply: str, holds: bool
) -> None:
    # Given a rule on the reply text, and a message whose quoted body says "remove me"
    write(tmp_path, "10-a.toml", rule("r", condition, kind="opt_out"))
    view = MessageView(channel="email", body=f"{reply}\n> remove me / unsubscribe", reply=reply)
    # Then only what the person newly wrote decides
    assert (load_rules(tmp_path).first_match(view) is not None) is holds


def test_reply_is_must_be_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "10-a.toml", rule("a", 'reply_is = "stop"'))
    assert check_rules(tmp_path) == [f"{path}:4: reply_is must be a non-empty list of strings"]


def test_the_shipped_files_put_lead_notices_before_noise_and_email_opt_outs_after() -> None:
    # Given the default email rules in the order they apply
    kinds = [
        r.kind
        for r in load_rules(default_rules_dir()).rules
        if any(c.key == "channel" and c.value == "email" for c in r.conditions)
    ]
    noise = [
        index for index, kind in enumerate(kinds) if kind in ("bounce", "complaint", "auto_reply", "list")
    ]
    # Then every lead rule comes before the noise (providers send with bulk headers), every opt-out after
    # it (an auto-reply saying "remove me" is still an auto-reply)
    assert max(i for i, kind in enumerate(kinds) if kind == "lead") < min(noise)
    assert min(i for i, kind in enumerate(kinds) if kind == "opt_out") > max(noise)
