"""Batched FETCH: headers and structure first, then only the parts worth reading, one command per shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from replywatch.sources.imap_connect import Connection
from replywatch.sources.imap_mime import Part, assemble, sections, structure

HEAD_ITEMS = ("INTERNALDATE", "RFC822.SIZE", "BODYSTRUCTURE", "BODY.PEEK[HEADER]")
WHOLE_LIMIT = 10 * 1024 * 1024  # a message whose structure we cannot read is fetched whole, up to this


@dataclass(frozen=True)
class Fetched:
    """One message as replywatch keeps it: its top header, the reassembled bytes, the server's facts."""

    uid: int
    header: bytes
    raw: bytes
    internal_date: datetime | None
    size: int  # RFC822.SIZE: what a full download would have cost


def fetch_batch(conn: Connection, uids: list[int], cap: int) -> list[Fetched]:
    """These UIDs still on the server, in UID order; an unreadable message never stops the rest."""
    try:
        heads: dict[int, dict[bytes, Any]] = conn.call(partial(_fetch, uids=uids, items=HEAD_ITEMS))
        roots = {uid: _structure(head) for uid, head in heads.items()}
        got = _bodies(conn, roots, cap)
    except IMAPClientError as exc:  # a NO or BAD for the batch: read one by one to find the culprit
        if len(uids) == 1:
            return [_unreadable(uids[0], exc)]
        return [m for uid in uids for m in fetch_batch(conn, [uid], cap)]
    return [_message(uid, heads[uid], roots[uid], got.get(uid, {})) for uid in sorted(heads) if uid in uids]


def _fetch(client: IMAPClient, uids: list[int], items: tuple[str, ...]) -> dict[int, dict[bytes, Any]]:
    return dict(client.fetch(uids, list(items)))


def _structure(head: dict[bytes, Any]) -> Part | None:
    try:
        return structure(head[b"BODYSTRUCTURE"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _bodies(conn: Connection, roots: dict[int, Part | None], cap: int) -> dict[int, dict[bytes, Any]]:
    """Messages of the same shape share one FETCH; most batches hold only a handful of shapes."""
    shapes: dict[tuple[str, ...], list[int]] = {}
    for uid, root in roots.items():
        items = sections(root, cap) if root else (f"BODY.PEEK[]<0.{WHOLE_LIMIT}>",)
        if items:
            shapes.setdefault(items, []).append(uid)
    got: dict[int, dict[bytes, Any]] = {}
    for items, members in shapes.items():
        got.update(conn.call(partial(_fetch, uids=members, items=items)))
    return got


def _message(uid: int, head: dict[bytes, Any], root: Part | None, got: dict[bytes, Any]) -> Fetched:
    header = head.get(b"BODY[HEADER]") or b""
    raw = assemble(root, header, got) if root else got.get(b"BODY[]<0>", b"")
    date = head.get(b"INTERNALDATE")
    return Fetched(
        uid, header, raw, date if isinstance(date, datetime) else None, int(head.get(b"RFC822.SIZE") or 0)
    )


def _unreadable(uid: int, exc: Exception) -> Fetched:
    """A stand-in the parser rejects, so the pipeline quarantines it with the server's words."""
    note = f"X-Replywatch-Fetch-Error: the server would not return this message: {exc}\r\n\r\n"
    return Fetched(uid, b"", note.encode("utf-8", "replace"), None, 0)
