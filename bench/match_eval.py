"""Benchmark: how right matching is, on a labelled dealership, for replywatch and an exact-address baseline.

    .venv/bin/python bench/match_eval.py [--leads 2200] [--weeks 12] [--seed 11] [--keep DIR]

Generates the dealership (bench/match_stories.py: thread replies, fresh mails, Gmail variants, work
addresses with nicknames, relay aliases, texts, a spouse's phone, shared household phones, repeat
shoppers, one shopper through two providers, CRM replies, customers writing twice, John Smiths,
auto-replies, bounces, list mail, STOP, internal mail, strangers), polls it into SQLite, and prints
for both: contact precision and recall per lead, link precision, contact-time exactness (±60 s) and
the review rate. No review decision is made. Not a test: targets are printed, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from match_stories import Dealership
from match_world import World, write

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.config import load_settings
from replywatch.domain.contact import MessageFact, contact_state
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.sources.factory import build_source
from replywatch.store.db import open_database
from replywatch.store.models import Lead, LeadIdentity, Match, Message, MessageKey

OPEN = timedelta(days=90)


@dataclass
class Outcome:
    links: dict[int, int]  # message → lead, matched automatically
    contact: dict[str, datetime]  # lead (external id) → contact time
    review: int = 0


def replywatch_outcome(sessions) -> Outcome:  # type: ignore[no-untyped-def]
    with sessions() as session:
        links = {
            m.message_id: m.lead_id for m in session.scalars(select(Match).where(Match.status == "matched"))
        }
        review = len(list(session.scalars(select(Match.id).where(Match.status == "review"))))
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
    with sessions() as session:
        lead_ext = {x.id: x.external_id for x in session.scalars(select(Lead))}
        human = {
            m.id: (m.header_message_id or m.external_id)
            for m in session.scalars(
                select(Message).where(Message.direction == "inbound", Message.kind == "human")
            )
        }
    truth = world.truth_contact
    found = outcome.contact
    right = [lead for lead in found if lead in truth]
    precision = len(right) / len(found) if found else 1.0
    recall = len(right) / len(truth) if truth else 1.0
    exact = [lead for lead in right if abs((found[lead] - truth[lead]).total_seconds()) <= 60]
    linked = [(mid, key) for mid, key in human.items() if mid in outcome.links and key in world.truth_link]
    correct = [1 for mid, key in linked if lead_ext[outcome.links[mid]] == world.truth_link[key]]
    print(f"\n{name}")
    _line("contact precision", precision, ">= 99.5%", f"{len(right)}/{len(found)}")
    _line("contact recall (no review)", recall, ">= 97%", f"{len(right)}/{len(truth)}")
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
    _line(
        "review queue / human inbound",
        outcome.review / len(human) if human else 0.0,
        "<= 5%",
        f"{outcome.review}/{len(human)}",
    )


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


if __name__ == "__main__":
    main()
