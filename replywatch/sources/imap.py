"""The IMAP lead inbox as a Source: per-folder UID cursors, read-only fetches, IDLE for the daemon.

A folder's cursor is its UIDVALIDITY and the last UID stored. When UIDVALIDITY changes (the folder was
recreated or rebuilt) the folder is read again from the start; ids come from the Message-ID and a digest
of the header, not the folder, so the store drops what it already has (also a message moved to another
folder), and two different messages that share a Message-ID are both kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError
from imapclient.imapclient import SENT

from replywatch.config import ImapSourceConfig
from replywatch.domain.normalize import normalize_message_id
from replywatch.errors import PermanentSourceError, TransientSourceError
from replywatch.sources.base import RawItem, dump_cursor, load_cursor
from replywatch.sources.imap_connect import Backoff, Connection
from replywatch.sources.imap_fetch import Fetched, fetch_batch

IDLE_RENEW_S = 25 * 60  # RFC 2177: a server may end an IDLE after 29 minutes; renew well before
_STOP_CHECK_S = 1.0
_MESSAGE_ID_RE = re.compile(rb"^message-id:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_BRACKETED_RE = re.compile(rb"<[^<>\s]+>")  # IDLE waits in slices this long so a stop request is seen at once


@dataclass(frozen=True)
class FolderPlan:
    name: str
    sent: bool
    uidvalidity: int
    uids: list[int]


class ImapSource:
    """Reads INBOX and the sent folder (or the configured folders) beyond their cursors, oldest first.

    `progress_total` is the number of messages this poll will read, known once the folders are searched.
    """

    def __init__(
        self, cfg: ImapSourceConfig, *, batch_size: int = 200, backoff: Backoff | None = None
    ) -> None:
        self.name, self.cfg = cfg.name, cfg
        self.batch_size = batch_size
        self.backoff = backoff or Backoff(cfg.reconnect_attempts, cfg.reconnect_first_seconds)
        self.progress_total: int | None = None
        self._links: set[Connection] = set()  # open now, for `abort`

    def abort(self) -> None:
        """Cut every link this source has open (from another thread: the daemon's watchdog)."""
        for conn in list(self._links):
            conn.abort()

    def _connect(self) -> Connection:
        conn = Connection(self.cfg, self.backoff)
        self._links.add(conn)
        return conn

    def _disconnect(self, conn: Connection) -> None:
        self._links.discard(conn)
        conn.close()

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        conn = self._connect()
        try:
            plans = [self._plan(conn, name, sent, cursors.get(name)) for name, sent in self._folders(conn)]
            self.progress_total = sum(len(p.uids) for p in plans)
            for plan in plans:
                yield from self._read(conn, plan)
        except IMAPClientError as exc:  # the server said NO or BAD to a command every poll needs
            raise TransientSourceError(f"{self.cfg.host}: {exc}") from None
        finally:
            self._disconnect(conn)

    def _folders(self, conn: Connection) -> list[tuple[str, bool]]:
        listed = conn.call(lambda c: c.list_folders())
        names = {str(name) for _flags, _delim, name in listed}
        flagged = [str(name) for flags, _delim, name in listed if SENT in flags]
        fallback = {n.lower() for n in self.cfg.sent_folders}
        by_name = sorted(n for n in names if _leaf(n, listed).lower() in fallback)
        sent = (flagged + by_name)[0] if flagged or by_name else None
        if not self.cfg.folders:
            return [("INBOX", False)] + ([(sent, True)] if sent else [])
        for folder in self.cfg.folders:
            if folder not in names and folder.upper() != "INBOX":
                raise PermanentSourceError(
                    f"{self.cfg.host}: no folder {folder!r} (there: {', '.join(sorted(names))})"
                )
        return [(f, f == sent or f in flagged or f in by_name) for f in self.cfg.folders]

    def _plan(self, conn: Connection, folder: str, sent: bool, mark_text: str | None) -> FolderPlan:
        info = conn.select(folder)
        validity = conn.uidvalidity or 0
        mark = load_cursor(mark_text)
        last = int(mark.get("uid", 0)) if mark.get("uidvalidity") == validity else 0
        if int(info.get(b"UIDNEXT") or last + 2) <= last + 1 or not int(info.get(b"EXISTS") or 0):
            return FolderPlan(folder, sent, validity, [])
        criteria: list[Any] = ["UID", f"{last + 1}:*"]
        if self.cfg.since:
            criteria += ["SINCE", self.cfg.since]
        found = conn.call(lambda c: c.search(criteria))
        return FolderPlan(folder, sent, validity, sorted(uid for uid in found if uid > last))

    def _read(self, conn: Connection, plan: FolderPlan) -> Iterator[RawItem]:
        """A folder's messages beyond its cursor; a dropped link is reopened and resumes at the batch."""
        if not plan.uids:
            return
        conn.select(plan.name)
        if conn.uidvalidity != plan.uidvalidity:
            raise TransientSourceError(
                f"{plan.name}: UIDVALIDITY changed during the poll; it is read again next poll"
            )
        for batch in self._prefetched(conn, plan.uids):
            for message in batch:
                yield self._item(plan, message)

    def _prefetched(self, conn: Connection, uids: list[int]) -> Iterator[list[Fetched]]:
        """Batches in UID order; the next one is fetched while the caller stores this one."""
        chunks = [uids[i : i + self.batch_size] for i in range(0, len(uids), self.batch_size)]
        cap = self.cfg.text_part_cap
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"imap-{self.name}") as pool:
            pending: Future[list[Fetched]] = pool.submit(fetch_batch, conn, chunks[0], cap)
            for following in [*chunks[1:], None]:
                batch = pending.result()
                if following is not None:
                    pending = pool.submit(fetch_batch, conn, following, cap)
                yield batch

    def _item(self, plan: FolderPlan, message: Fetched) -> RawItem:
        return RawItem(
            source=self.name,
            external_id=external_id(message.header),
            aliases=legacy_ids(plan.name, message.header),
            position=f"{plan.name} uid {message.uid}",
            payload=message.raw,
            in_sent_folder=plan.sent,
            fallback_date=message.internal_date,
            cursor=(plan.name, dump_cursor({"uidvalidity": plan.uidvalidity, "uid": message.uid})),
        )

    def wait_for_changes(
        self,
        timeout: float,
        stop: threading.Event | None = None,
        cursors: Mapping[str, str] | None = None,
        renew_after: float = IDLE_RENEW_S,
    ) -> bool:
        """For the daemon: True when it is time to poll (INBOX holds mail beyond its cursor or gets new
        mail, the link dropped, or without IDLE the interval passed); False when `timeout` passed
        quietly or `stop` was set."""
        stop = stop or threading.Event()
        conn = self._connect()
        try:
            client = conn.call(lambda c: c)
            if not client.has_capability("IDLE"):
                return not stop.wait(min(timeout, self.cfg.interval)) and timeout >= self.cfg.interval
            folder = self.cfg.folders[0] if self.cfg.folders else "INBOX"
            info = conn.select(folder)
            mark = load_cursor((cursors or {}).get(folder))
            if cursors is not None and _beyond(info, mark, conn.uidvalidity):
                return True  # arrived between the last poll and this wait
            return _idle(client, timeout, stop, renew_after)
        except (OSError, IMAPClientAbortError):
            return True  # the next poll reconnects, with backoff, and reports what it finds
        finally:
            self._disconnect(conn)


def _beyond(info: dict[bytes, Any], mark: dict[str, Any], uidvalidity: int | None) -> bool:
    if mark.get("uidvalidity") != uidvalidity:
        return bool(info.get(b"EXISTS"))
    return int(info.get(b"UIDNEXT") or 0) > int(mark.get("uid", 0)) + 1


def _idle(client: IMAPClient, timeout: float, stop: threading.Event, renew_after: float) -> bool:
    deadline = time.monotonic() + timeout
    client.idle()
    renew_at = time.monotonic() + renew_after
    try:
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            began, wait = time.monotonic(), min(left, _STOP_CHECK_S)
            responses = client.idle_check(timeout=wait)
            if _has_new_mail(responses) or _said_bye(responses):
                return True  # new mail, or the server ends the session (a restart): the next poll reconnects
            # idle_check swallows EOF: back early with nothing read is a closed link (else it would spin here
            # until the timeout); DONE then raises on a closed link, and on a live one costs a round trip.
            closed = not responses and time.monotonic() - began < wait / 2
            if closed or time.monotonic() >= renew_at:
                if _has_new_mail(client.idle_done()[1]):
                    return True
                client.idle()
                renew_at = time.monotonic() + renew_after
        return False
    finally:
        with contextlib.suppress(IMAPClientError):
            client.idle_done()


def _has_new_mail(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and len(r) > 1 and r[1] == b"EXISTS" for r in responses)


def _said_bye(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses)


def external_id(header: bytes) -> str:
    """Stable across a rescan and a move to another folder of the account: the Message-ID with a digest of
    the header (two different messages may share a Message-ID), else the header's digest alone."""
    digest = hashlib.sha256(header).hexdigest()
    message_id = normalize_message_id(_message_id(header))
    if message_id and len(message_id) <= 300:
        return f"{message_id}#{digest[:16]}"
    return f"sha256:{digest[:32]}"


def legacy_ids(folder: str, header: bytes) -> tuple[str, ...]:
    """The id an earlier version gave the message: the folder and the Message-ID, else a header digest."""
    message_id = normalize_message_id(_message_id(header))
    if message_id and len(message_id) <= 300:
        return (f"{folder}:{message_id}",)
    return (f"{folder}#sha256:{hashlib.sha256(header).hexdigest()[:32]}",)


def _message_id(header: bytes) -> str | None:
    """The Message-ID header's `<id>` (a regex: a full header parse per message costs more than the fetch)."""
    found = _MESSAGE_ID_RE.search(header)
    if not found:
        return None
    value = b" ".join(found[1].split())
    bracketed = _BRACKETED_RE.search(value)
    return (bracketed[0] if bracketed else value).decode("ascii", "replace") or None


def _leaf(name: str, listed: list[tuple[Any, Any, Any]]) -> str:
    delimiters = {d.decode() if isinstance(d, bytes) else str(d) for _f, d, _n in listed if d}
    for delimiter in delimiters:
        name = name.rsplit(delimiter, 1)[-1]
    return name
