"""What a poll stored, as one digest per table: compare two databases a poll wrote from the same input.

    .venv/bin/python bench/store_digest.py DB [DB2]

DB is a SQLite file (say, one `bench/match_eval.py --keep DIR` or `bench/ingest_sms.py` wrote). Rows are
named by what identifies them outside the database (a message by source and external id, a lead by its
id at its source), never by row ids, and columns that hold the wall clock of the poll (ingested_at,
decided_at, created_at, updated_at) are left out, as is a message's position (a file's path
names the folder it was read from): two polls of the same input into fresh databases give
the same digests whatever order the rows went in. With DB2, the tables whose digests differ are named and
the exit status is 1. For refactoring the ingest path: a change that should alter nothing must leave
every digest as it was.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys

MESSAGE = "(SELECT source || ':' || external_id FROM messages m WHERE m.id = {})"
LEAD = "(SELECT source || ':' || external_id FROM leads l WHERE l.id = {})"
QUERIES = {
    "messages": "SELECT source, external_id, channel, direction, kind, rule, sent_at, sender, sender_name,"
    " subject, header_message_id, is_reply, snippet, store_id, associate_id, status FROM messages",
    "message_keys": f"SELECT {MESSAGE.format('k.message_id')}, role, value FROM message_keys k",
    "matches": f"SELECT {MESSAGE.format('x.message_id')}, {LEAD.format('x.lead_id')}, status, score, reasons,"
    " decided_by FROM matches x",
    "leads": "SELECT source, external_id, external_id_source, store_id, associate_id, received_at,"
    " first_name,"
    " last_name, full_name, vehicle, origin_message_id, first_touch_at, contact_at, contact_channel,"
    f" {MESSAGE.format('contact_message_id')}, time_to_contact_s, time_to_contact_business_s,"
    " first_response_s, first_response_business_s, opted_out_at FROM leads",
    "lead_identities": f"SELECT {LEAD.format('i.lead_id')}, kind, value, bounced_at, bounce_status"
    " FROM lead_identities i",
    "bounce_recipients": f"SELECT {MESSAGE.format('b.message_id')}, address, status, bounced_at"
    " FROM bounce_recipients b",
    "lead_name_keys": f"SELECT {LEAD.format('n.lead_id')}, key, received_at FROM lead_name_keys n",
    "quarantine": "SELECT source, external_id, error FROM quarantine",
    "source_cursors": "SELECT source, key, value FROM source_cursors",
}


def digests(path: str) -> dict[str, tuple[int, str]]:
    """Table → (rows, sha256 of its rows in sorted order); a table the database has not (an older
    schema) is (0, "absent")."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    have = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = {}
    for table, query in QUERIES.items():
        if table not in have:
            found[table] = (0, "absent")
            continue
        rows = sorted(repr(row) for row in db.execute(query))
        found[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
    db.close()
    return found


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        sys.exit(__doc__)
    tables = [digests(path) for path in argv]
    for table in QUERIES:
        line = "  ".join(f"{rows:8d} {digest}" for rows, digest in (t[table] for t in tables))
        differs = len(tables) == 2 and tables[0][table] != tables[1][table]
        print(f"{table:<16} {line}{'  DIFFERS' if differs else ''}")
    return int(len(tables) == 2 and tables[0] != tables[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
