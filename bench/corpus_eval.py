"""Accuracy on real mail: classification of ../shared/corpus per label, line-end variants, bounce reports
and reply text.

    .venv/bin/python bench/corpus_eval.py [--corpus ../shared/corpus] [--libraries]

Prints a confusion table (label × kind), then the figures the issue sets targets for: bounces and
complaints classified non-human (100%), CR and CRLF copies classified exactly like their LF originals,
no reply body classified as noise. Reply bodies are wrapped as a customer's reply to our follow-up.
Then how many bounces name a recipient (DSN parsing), and the reply text against
tests/fixtures/reply_text_expected.toml; --libraries adds mail-parser-reply and email-reply-parser
when they are installed, for comparison. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tomllib
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from replywatch.classify.rules import RuleSet, default_rules_dir, load_rules
from replywatch.domain.vocabulary import NOISE_KINDS
from replywatch.ingest.prepare import Verdict, verdict, with_lf
from replywatch.parse.dsn import read_report
from replywatch.parse.replies import reply_text

REPO = Path(__file__).resolve().parents[1]
EXPECTED = REPO / "tests" / "fixtures" / "reply_text_expected.toml"
NON_HUMAN = {*NOISE_KINDS, "lead"}


def as_reply(body: bytes) -> bytes:
    """A reply body as the mail a customer sends back to our follow-up."""
    msg = EmailMessage()
    msg["From"], msg["To"] = (
        "Pat Customer <pat.customer@example.com>",
        "Dana Lee <dana@mainstreethonda.example>",
    )
    msg["Subject"], msg["Date"] = "Re: Your 2025 CR-V", "Mon, 02 Nov 2026 18:00:00 +0000"
    msg["Message-ID"], msg["In-Reply-To"] = "<reply-1@example.com>", "<touch-1@mainstreethonda.example>"
    msg.set_content(body.decode("utf-8", "replace"))
    return msg.as_bytes()


def classify_corpus(corpus: Path, rules: RuleSet) -> dict[str, tuple[str, Verdict]]:
    """path → (label, verdict) for every file of the manifest."""
    with (corpus / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    found = {}
    for row in rows:
        raw = (corpus / row["path"]).read_bytes()
        found[row["path"]] = (
            row["label"],
            verdict(as_reply(raw) if row["label"] == "reply_body" else raw, rules),
        )
    return found


def print_confusion(found: dict[str, tuple[str, Verdict]]) -> None:
    table = Counter((label, v.kind) for label, v in found.values())
    kinds = sorted({kind for _, kind in table})
    print("label".ljust(12) + "".join(k[:12].rjust(13) for k in kinds) + "total".rjust(8))
    for label in sorted({label for label, _ in table}):
        counts = [table[(label, kind)] for kind in kinds]
        print(label.ljust(12) + "".join(str(c).rjust(13) for c in counts) + str(sum(counts)).rjust(8))


def print_targets(found: dict[str, tuple[str, Verdict]], corpus: Path, rules: RuleSet) -> None:
    for label in ("bounce", "complaint"):
        kinds = [v.kind for lab, v in found.values() if lab == label]
        machine = sum(kind in NON_HUMAN for kind in kinds)
        print(f"{label}: {machine}/{len(kinds)} non-human ({100 * machine / max(len(kinds), 1):.1f}%)")
    replies = [v.kind for lab, v in found.values() if lab == "reply_body"]
    noise = sum(kind in NOISE_KINDS for kind in replies)
    print(f"reply bodies classified as noise: {noise}/{len(replies)}")
    same, total, with_original = _line_end_variants(found, corpus, rules)
    print(
        f"CR/CRLF copies classified like their LF original: {same}/{total} ({with_original} LF originals in"
    )
    print("  the corpus; for the others the original is the copy with LF line ends)")


def _line_end_variants(
    found: dict[str, tuple[str, Verdict]], corpus: Path, rules: RuleSet
) -> tuple[int, int, int]:
    same = total = with_original = 0
    for path, (_, copy) in found.items():
        name = path.rsplit("/", 1)[-1]
        if not name.startswith(("sisimai-dos-", "sisimai-mac-")):
            continue
        original_path = path.replace("sisimai-dos-", "sisimai-").replace("sisimai-mac-", "sisimai-")
        if original_path in found:
            with_original += 1
            original = found[original_path][1]
        else:
            original = verdict(with_lf((corpus / path).read_bytes()), rules)
        total += 1
        same += (copy.kind, copy.rule) == (original.kind, original.rule)
    return same, total, with_original


def print_bounce_reports(found: dict[str, tuple[str, Verdict]], corpus: Path) -> None:
    named = with_status = unreachable = total = 0
    for path, (label, _) in found.items():
        if label != "bounce":
            continue
        recipients = read_report(with_lf((corpus / path).read_bytes()))
        total += 1
        named += bool(recipients)
        with_status += any(r.status for r in recipients)
        unreachable += any(r.failed for r in recipients)
    print(f"bounces naming a recipient: {named}/{total}; with a status code: {with_status}; naming an")
    print(f"  unreachable address (marked bouncing on its leads): {unreachable}")


def normalize(text: str) -> str:
    """Lines without trailing space, blank lines dropped: how reply texts are compared."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines if line.strip())


def print_reply_text(corpus: Path, extractors: dict[str, Callable[[str], str]]) -> None:
    expected = tomllib.loads(EXPECTED.read_text(encoding="utf-8"))
    for name, extract in extractors.items():
        exact = leaks = losses = 0
        for file, want in expected.items():
            body = (corpus / "reply_bodies" / file).read_bytes().decode("utf-8")
            goal = normalize(body if want.get("whole") else want["text"])
            got = normalize(extract(body))
            exact += got == goal
            leaks += bool(set(got.split("\n")) - set(goal.split("\n")))
            losses += bool(set(goal.split("\n")) - set(got.split("\n")))
        print(
            f"reply text, {name}: {exact}/{len(expected)} exact; "
            f"{leaks} with extra text; {losses} missing some"
        )


def library_extractors() -> dict[str, Callable[[str], str]]:
    """The published reply parsers, when installed (pip install mail-parser-reply email-reply-parser)."""
    found: dict[str, Callable[[str], str]] = {}
    try:
        from mailparser_reply import EmailReplyParser as MailParserReply

        languages = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "fi", "pt", "ru"]
        found["mail-parser-reply"] = lambda t: MailParserReply(languages=languages).parse_reply(text=t) or ""
    except ImportError:
        print("(mail-parser-reply not installed)")
    try:
        from email_reply_parser import EmailReplyParser

        found["email-reply-parser"] = EmailReplyParser.parse_reply
    except ImportError:
        print("(email-reply-parser not installed)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--libraries", action="store_true", help="compare the published reply parsers")
    args = parser.parse_args()
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    rules = load_rules(default_rules_dir())
    found = classify_corpus(args.corpus, rules)
    print_confusion(found)
    print()
    print_targets(found, args.corpus, rules)
    print_bounce_reports(found, args.corpus)
    extractors = {"replywatch": reply_text}
    print_reply_text(args.corpus, extractors | (library_extractors() if args.libraries else {}))


if __name__ == "__main__":
    main()
