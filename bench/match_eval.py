"""Benchmark: how right matching is, on a labelled dealership, for replywatch and an exact-address baseline.

    .venv/bin/python bench/match_eval.py [--leads 2200] [--weeks 12] [--seed 11] [--keep DIR]

Generates the dealership (bench/match_stories.py: thread replies, fresh mails, Gmail variants, work
addresses with nicknames, relay aliases, texts, a spouse's phone, shared household phones, repeat
shoppers, one shopper through two providers, CRM replies, customers writing twice, John Smiths,
auto-replies, bounces, list mail, STOP, internal mail, strangers; and bench/match_hard.py: display names
with commas in six shapes, one shopper with two or three open leads at one or two stores and a reply
that tells them apart, reviewer corrections), polls it into SQLite, and prints for both: contact
precision and recall per lead, link precision (and per class of the hard stories), contact-time
exactness (±60 s) and the review rate, before any review decision. Then a scripted reviewer makes a
wrong accept and corrects it, later mail from the same address is polled, and the messages that still
follow the overturned link are counted. Not a test: targets are printed, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from match_stories import Dealership
from match_world import END, World, write, write_late

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.config import load_settings
from replywatch.domain.contact import MessageFact, contact_state
from replywatch.ingest.directory import Directory, open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.match.link import Matching
from replywatch.match.policy import load_policy
from replywatch.review.decisions import Reviewer
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, LeadIdentity, Match, Message, MessageKey

OPEN = timedelta(days=90)


@dataclass
class Outcome:
    links: dict[int, int]  # message → lead, matched automatically
    contact: dict[str, datetime]  # lead (external id) → contact time
    review_ids: set[int] = field(default_factory=set)  # messages waiting for review


def replywatch_outcome(sessions) -> Outcome:  # type: ignore[no-untyped-def]
    with sessions() as session:
        links = {
            m.message_id: m.lead_id for m in session.scalars(select(Match).where(Match.status == "matched"))
        }
        review = set(session.scalars(select(Match.message_id).where(Match.status == "review")))
        contact = {x.external_id: x.contact_at for x in session.scalars(select(Lead)) if x.contact_at}
    return Outcome(links, contact, review)


def baseline_outcome(sessions) -> Outcome:  # type: ignore[no-untyped-def]
    """What CRMs do: the exact sender (or recipient) address or number names the lead; the latest lead
    received before the message wins. Contact by the same rule as replywatch's."""
    with sessions() as session:
        leads = {x.id: x for x in session.scalars(select(Lead))}
        owners: dict[str, list[int]] = {}
        for ident in session.scalars(select(LeadIdentity).where(LeadIdentity.kind.in_(("email", "phone")))):
            owners.setdefault(ident.value, []).append(ident.lead_id)
        keys: dict[int, dict[str, list[str]]] = {}
        for key in session.scalars(select(MessageKey)):
            keys.setdefault(key.message_id, {}).setdefault(key.role, []).append(key.value)
        messages = list(session.scalars(select(Message).where(Message.kind != "lead")))
    links: dict[int, int] = {}
    for m in messages:
        roles = ("reply_to", "from") if m.direction == "inbound" else ("to", "cc")
        found = {i for r in roles for v in keys.get(m.id, {}).get(r, ()) for i in owners.get(v, ())}
        open_ = [
            i
            for i in found
            if leads[i].received_at - timedelta(days=1) <= m.sent_at <= leads[i].received_at + OPEN
        ]
        if open_:
            links[m.id] = max(open_, key=lambda i: (leads[i].received_at <= m.sent_at, leads[i].received_at))
    by_lead: dict[int, list[Message]] = {}
    for m in messages:
        if m.id in links:
            by_lead.setdefault(links[m.id], []).append(m)
    contact = {}
    for lead_id, matched in by_lead.items():
        facts = [MessageFact(m.id, m.sent_at, m.direction, m.kind, m.channel, m.is_reply) for m in matched]
        state = contact_state(leads[lead_id].received_at, facts, None)
        if state.contact_at:
            contact[leads[lead_id].external_id] = state.contact_at
    return Outcome(links, contact)


def report(name: str, outcome: Outcome, world: World, sessions) -> None:  # type: ignore[no-untyped-def]
    """The figures before any review decision. The correction stories' mail waits for the scripted
    reviewer and is counted in its own block (corrections())."""
    scripted = {k for c in world.corrections for k in (c.first, c.follow, *c.late)}
    with sessions() as session:
        lead_ext = {x.id: x.external_id for x in session.scalars(select(Lead))}
        human = {
            m.id: (m.header_message_id or m.external_id)
            for m in session.scalars(
                select(Message).where(Message.direction == "inbound", Message.kind == "human")
            )
        }
    review_ids = outcome.review_ids - {mid for mid, key in human.items() if key in scripted}
    human = {mid: key for mid, key in human.items() if key not in scripted}
    truth = world.truth_contact
    found = outcome.contact
    right = [lead for lead in found if lead in truth]
    precision = len(right) / len(found) if found else 1.0
    recall = len(right) / len(truth) if truth else 1.0
    exact = [lead for lead in right if abs((found[lead] - truth[lead]).total_seconds()) <= 60]
    linked = [(mid, key) for mid, key in human.items() if mid in outcome.links and key in world.truth_link]
    correct = [1 for mid, key in linked if lead_ext[outcome.links[mid]] == world.truth_link[key]]
    print(f"\n{name}")
    _line("contact precision", precision, ">= 99.8%", f"{len(right)}/{len(found)}")
    _line("contact recall (no review)", recall, ">= 98.5%", f"{len(right)}/{len(truth)}")
    _line(
        "link precision (human inbound)",
        len(correct) / len(linked) if linked else 1.0,
        "",
        f"{len(correct)}/{len(linked)}",
    )
    _line(
        "contact time exact (±60 s)",
        len(exact) / len(right) if right else 1.0,
        ">= 99.5%",
        f"{len(exact)}/{len(right)}",
    )
    for cls in sorted(set(world.classes.values())):
        mine = [(mid, key) for mid, key in human.items() if world.classes.get(key) == cls]
        right_links = [
            1
            for mid, key in mine
            if mid in outcome.links and lead_ext[outcome.links[mid]] == world.truth_link[key]
        ]
        _line(
            f"  linked right: {cls}",
            len(right_links) / len(mine) if mine else 1.0,
            "",
            f"{len(right_links)}/{len(mine)}",
        )
    _line(
        "review queue / human inbound",
        len(review_ids) / len(human) if human else 0.0,
        "<= 3%",
        f"{len(review_ids)}/{len(human)}",
    )


def corrections(world: World, pipeline: Pipeline, settings, root: Path) -> None:  # type: ignore[no-untyped-def]
    """The scripted reviewer: each correction story's first reply accepted for the namesake (the mistake),
    then both replies corrected to the right lead (`review accept ID --lead`); then the later mail from the
    same address is polled. Counts the messages that still follow the overturned link."""
    stories = world.corrections
    if not stories:
        return
    ids = _message_ids(pipeline.sessions)
    _decide(pipeline, settings, [(ids[c.first], c.wrong) for c in stories])
    followed = sum(_linked(pipeline.sessions, ids[c.follow]) == c.wrong for c in stories)
    _decide(
        pipeline,
        settings,
        [(ids[c.follow], c.right) for c in stories] + [(ids[c.first], c.right) for c in stories],
    )
    write_late(world, root)
    pipeline.poll(build_source(next(s for s in settings.sources if s.name == "late")))
    ids = _message_ids(pipeline.sessions)
    later = [ids[k] for c in stories for k in (c.follow, *c.late)]
    wrong = {ids[k]: c.wrong for c in stories for k in (c.follow, *c.late)}
    still = sum(_linked(pipeline.sessions, m) == wrong[m] for m in later)
    right = sum(_linked(pipeline.sessions, ids[k]) == c.right for c in stories for k in c.late)
    with pipeline.sessions() as session:
        contacted = sum(
            1 for c in stories if session.scalar(select(Lead.contact_at).where(Lead.external_id == c.right))
        )
    print(f"\nscripted corrections ({len(stories)} stories; the exact-address baseline has no review queue)")
    print(
        f"  mail that followed the wrong accept on its own    {followed}/{len(stories)}  (before correcting)"
    )
    print(f"  later messages following the overturned link      {still}/{len(later)}  target 0")
    print(f"  later mail matched to the right lead on its own   {right}/{sum(len(c.late) for c in stories)}")
    print(f"  right leads contacted after the corrections        {contacted}/{len(stories)}")


def _message_ids(sessions) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return {m.header_message_id: m.id for m in session.scalars(select(Message)) if m.header_message_id}


def _linked(sessions, message_id: int) -> str | None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        match = session.scalars(select(Match).where(Match.message_id == message_id)).one()
        if match.status != "matched" or match.lead_id is None:
            return None
        return session.get(Lead, match.lead_id).external_id  # type: ignore[union-attr]


def _decide(pipeline: Pipeline, settings, decisions: list[tuple[int, str]]) -> None:  # type: ignore[no-untyped-def]
    """Each (message, lead id as exported) accepted as a reviewer does, one transaction each."""
    for message_id, lead in decisions:
        with pipeline.sessions() as session, session.begin():
            directory = Directory.load(session, settings)
            matching = Matching(
                load_policy(default_rules_dir()), settings.matching.lead_open_days, directory, END
            )
            lead_id = session.scalar(select(Lead.id).where(Lead.external_id == lead))
            Reviewer(session, directory, matching, "bench").accept(message_id, lead_id)


def _line(label: str, value: float, target: str, counts: str) -> None:
    print(f"  {label:<32} {value * 100:6.2f}%  {counts:>12}  {('target ' + target) if target else ''}")


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2200)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="write the dealership here and keep it")
    args = parser.parse_args(list(argv) if argv is not None else None)
    world = Dealership(args.seed, args.leads, args.weeks).build()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        config = write(world, root)
        settings = load_settings(config, environ={})
        _, sessions = open_database(settings.database.url)
        pipeline = Pipeline(
            sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings)
        )
        began = time.perf_counter()
        for source in settings.sources:
            pipeline.poll(build_source(source))
        took = time.perf_counter() - began
        print(
            f"dealership: {args.leads}+ leads, {len(world.mails)} mails, {len(world.texts)} texts; "
            f"polled in {took:.1f} s"
        )
        print("cases: " + ", ".join(f"{k} {v}" for k, v in sorted(world.cases.items())))
        print(
            f"truth: {len(world.truth_contact)} contacted leads, "
            f"{len(world.truth_link)} labelled inbound messages"
        )
        report("replywatch", replywatch_outcome(sessions), world, sessions)
        report("exact-address baseline", baseline_outcome(sessions), world, sessions)
        corrections(world, pipeline, settings, root)


if __name__ == "__main__":
    main()
