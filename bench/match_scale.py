"""Benchmark: matching 5,000 replies against 10,000 and against 1,000,000 leads, on SQLite and PostgreSQL.

    .venv/bin/python bench/match_scale.py [--leads 10000,1000000] [--replies 5000]
                                          [--backends sqlite,postgresql]

Leads are spread over five years (a dealer group's history); replies come in the last 90 days: 60% from
a lead's address, 25% texts from its number, 15% from an unknown address that only the display name
ties to a lead (fuzzy look-up through the name blocking keys). Replies go through `BatchStore` in
batches of 200, as a poll stores them (insert, candidates, decision, contact). Prints the time per
reply for each lead count and the ratio large / small. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from replywatch.classify.rules import default_rules_dir
from replywatch.config import settings_from_dict
from replywatch.ingest.batch import BatchStore
from replywatch.ingest.directory import open_directory
from replywatch.ingest.prepare import Prepared, PreparedMessage
from replywatch.match.namescore import lead_blocking_keys
from replywatch.match.policy import load_policy
from replywatch.sources.base import RawItem
from replywatch.store.db import open_database
from replywatch.store.models import Lead, LeadIdentity, LeadNameKey

NOW = datetime(2026, 11, 30, tzinfo=UTC)
YEARS = 5
SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
]
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "William",
    "Linda",
    "David",
    "Elizabeth",
    "Richard",
    "Barbara",
    "Joseph",
    "Susan",
    "Thomas",
    "Jessica",
    "Christopher",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Ashley",
    "Anthony",
    "Emily",
    "Mark",
    "Amanda",
    "Steven",
    "Megan",
    "Kevin",
    "Rachel",
    "José",
    "María",
    "Jesús",
    "Sofía",
    "Andrés",
    "Lucía",
    "Wei",
    "Mei",
    "Raj",
    "Ananya",
    "Olga",
    "Dmitri",
]


def surname(rng: random.Random) -> str:
    """A surname as in the US census: the eight commonest (Smith … Davis) are 4% of people, then a
    long tail."""
    if rng.random() < 0.04:
        return rng.choice(("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"))
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def load_leads(sessions, count: int, rng: random.Random) -> list[tuple[int, str, str, str, str]]:  # type: ignore[no-untyped-def]
    """Bulk-insert `count` leads; the ones open in the last 90 days come back (id, names, email, phone)."""
    span = timedelta(days=365 * YEARS)
    open_leads = []
    with sessions() as session, session.begin():
        for start in range(0, count, 20000):
            leads, identities, keys = [], [], []
            for lead_id in range(start + 1, min(count, start + 20000) + 1):
                first, last = rng.choice(FIRST), surname(rng)
                received = NOW - span * (1 - (lead_id / count)) - timedelta(days=1)
                email, phone = f"c{lead_id}@mail.example", f"+1512{lead_id:07d}"
                leads.append(
                    {
                        "id": lead_id,
                        "source": "Web",
                        "external_id": f"L{lead_id}",
                        "received_at": received,
                        "first_name": first,
                        "last_name": last,
                        "full_name": f"{first} {last}",
                        "store_id": 1,
                    }
                )
                identities += [
                    {"lead_id": lead_id, "kind": "email", "value": email},
                    {"lead_id": lead_id, "kind": "phone", "value": phone},
                ]
                for key in lead_blocking_keys(first, last, None):
                    keys.append({"lead_id": lead_id, "key": key, "received_at": received})
                if received > NOW - timedelta(days=89):
                    open_leads.append((lead_id, first, last, email, phone))
            session.execute(insert(Lead), leads)
            session.execute(insert(LeadIdentity), identities)
            session.execute(insert(LeadNameKey), keys)
    with sessions() as session, session.begin():
        session.execute(text("ANALYZE"))  # statistics, as a database in service has them
    return open_leads


def replies(
    open_leads: list[tuple[int, str, str, str, str]], count: int, rng: random.Random
) -> list[Prepared]:
    items = []
    for n in range(count):
        _, first, last, email, phone = rng.choice(open_leads)
        sent = NOW - timedelta(minutes=count - n)
        roll = rng.random()
        sms = 0.6 <= roll < 0.85
        sender = phone if sms else email if roll < 0.6 else f"x{n}@work.example"
        keys = {"from": [sender], "to": ["+15125550100" if sms else "dana@store.example"]}
        message = PreparedMessage(
            **{
                "source": "bench",
                "external_id": f"R{n}",
                "position": f"R{n}",
                "kind": "human",
                "rule": None,
                "channel": "sms" if sms else "email",
                "direction": "inbound",
                "sent_at": sent,
                "sender": sender,
                "sender_name": None if sms else f"{first} {last}",
                "subject": None if sms else "question",
                "header_message_id": None if sms else f"<r{n}@x>",
                "is_reply": False,
                "snippet": "Is it available?",
                "status": None,
                "associate_id": None,
                "store_id": None,
                "ingested_at": NOW,
            }
        )
        items.append(Prepared(RawItem("bench", f"R{n}", f"R{n}", b""), message, keys))
    return items


def run(url: str, leads: int, count: int) -> float:
    """Seconds per reply for `count` replies against `leads` leads."""
    rng = random.Random(leads)
    settings = settings_from_dict(
        {
            "database": {"url": url},
            "stores": [{"name": "Main"}],
            "associates": [
                {
                    "name": "Dana",
                    "store": "Main",
                    "emails": ["dana@store.example"],
                    "phones": ["+15125550100"],
                }
            ],
        }
    )
    _, sessions = open_database(url)
    directory, policy = open_directory(sessions, settings), load_policy(default_rules_dir())
    open_leads = load_leads(sessions, leads, rng)
    batch = replies(open_leads, count, rng)
    began = time.perf_counter()
    for start in range(0, count, 200):
        with sessions() as session, session.begin():
            store = BatchStore(session, directory, 90, NOW, None, policy)
            store.store(batch[start : start + 200])
            store.finish()
    return (time.perf_counter() - began) / count


def pg_schema(base: str) -> tuple[str, str]:
    schema, u = f"bench_{uuid.uuid4().hex[:10]}", make_url(base)
    with psycopg.connect(host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    u = make_url(base)
    with psycopg.connect(host=u.host, port=u.port, dbname=u.database, user=u.username, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", default="10000,1000000")
    parser.add_argument("--replies", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sizes = [int(x) for x in args.leads.split(",")]
    for backend in args.backends.split(","):
        per_reply = {}
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                if backend == "sqlite":
                    per_reply[size] = run(f"sqlite:///{Path(tmp) / 'scale.db'}", size, args.replies)
                else:
                    url, schema = pg_schema(args.pg)
                    try:
                        per_reply[size] = run(url, size, args.replies)
                    finally:
                        drop_schema(args.pg, schema)
            print(f"{backend:>10}: {size:>9,} leads: {per_reply[size] * 1000:6.2f} ms per reply", flush=True)
        ratio = per_reply[sizes[-1]] / per_reply[sizes[0]]
        print(f"{backend:>10}: ratio {sizes[-1]:,} / {sizes[0]:,} leads: {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
