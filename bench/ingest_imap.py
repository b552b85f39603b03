"""Benchmark: IMAP ingest against a real Dovecot, replywatch versus the naive way peer tools read a mailbox.

    .venv/bin/python bench/ingest_imap.py [--messages 5000] [--rss-at 20000] [--pg postgresql+psycopg://…/test]
                                          [--profile FILE]

Loads a mixed mailbox into a loopback Dovecot (~10% ADF leads, replies, auto-replies, bounces, our
follow-ups in Sent, 12% carrying 0.5–2 MB attachments), then times (a) imapclient `FETCH RFC822` of every
message plus a full mail-parser parse of each, (b) the plain RFC822 download alone, (c) `replywatch poll
--once` on a fresh SQLite database and (d) the same on PostgreSQL. Prints messages/s, c/a and d/a, the
bytes replywatch fetched against the mailbox size (Dovecot's `out=` log figures) and the peak RSS of (c);
with --rss-at the mailbox is grown to that many messages and (c) is run again for its peak RSS.
Not a test: nothing is asserted; timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import mailparser
from imapclient import IMAPClient
from ingest_local import drop_schema, pg_schema_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from servers.dovecot import Account, Dovecot  # noqa: E402
from servers.oauth import TokenServer  # noqa: E402

STORE, DANA = "Main Street Honda", "dana@mainstreethonda.example"
START = datetime(2026, 6, 1, 9, tzinfo=UTC)
_BLOBS = [os.urandom(2 * 1024 * 1024) for _ in range(4)]  # attachment bytes, sliced per message


class Mailbox:
    """A dealership's mixed lead inbox, generated message by message from one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def take(self, n: int) -> Iterator[tuple[str, bytes]]:
        for _ in range(n):
            self.count += 1
            yield self._one(self.count)

    def _one(self, i: int) -> tuple[str, bytes]:
        rng = self.rng
        when = START + timedelta(minutes=7 * i)
        customer = f"customer{rng.randrange(max(1, i // 8) + 1)}@example.com"
        roll = rng.random()
        msg = EmailMessage()
        msg["Date"], msg["Message-ID"] = format_datetime(when), f"<m{i}@bench.example>"
        folder = "INBOX"
        if roll < 0.10:
            _lead(msg, i, customer, when, rng.random() < 0.5)
        elif roll < 0.25:
            msg["From"], msg["To"], msg["Subject"] = DANA, customer, "Your vehicle inquiry"
            msg.set_content("Hi, thanks for your interest. When can you come by for a test drive?\n" * 3)
            folder = "Sent"
        elif roll < 0.33:
            msg["From"], msg["To"], msg["Subject"] = customer, DANA, "Automatic reply: Your vehicle inquiry"
            msg["Auto-Submitted"] = "auto-replied"
            msg.set_content("I am out of the office until Monday.")
        elif roll < 0.37:
            return folder, _bounce(i, when, customer)
        else:
            msg["From"], msg["To"], msg["Subject"] = customer, DANA, "Re: Your vehicle inquiry"
            msg["In-Reply-To"] = msg["References"] = f"<m{max(1, i - 3)}@bench.example>"
            msg.set_content(
                "Yes, Saturday morning works. Is the blue one still there?\n\n> quoted text\n" * 4
            )
        if roll >= 0.37 or roll < 0.10:
            self._maybe_attach(msg)
        return folder, msg.as_bytes()

    def _maybe_attach(self, msg: EmailMessage) -> None:
        if self.rng.random() < 0.12 / 0.73:  # 12% of all mail: only leads and replies carry files
            size = self.rng.randrange(512 * 1024, 2 * 1024 * 1024)
            blob = _BLOBS[self.rng.randrange(len(_BLOBS))][:size]
            kind = (
                ("image", "jpeg", "trade-in.jpg")
                if self.rng.random() < 0.6
                else ("application", "pdf", "quote.pdf")
            )
            msg.add_attachment(blob, maintype=kind[0], subtype=kind[1], filename=kind[2])


def _lead(msg: EmailMessage, i: int, customer: str, when: datetime, as_attachment: bool) -> None:
    msg["From"], msg["To"], msg["Subject"] = "leads@autotrader.example", DANA, f"New lead B{i}"
    adf = (
        '<?xml version="1.0"?><adf><prospect>'
        f'<id sequence="1" source="AutoTrader">B{i}</id><requestdate>{when.isoformat()}</requestdate>'
        "<vehicle><year>2025</year><make>Honda</make><model>CR-V</model></vehicle>"
        f'<customer><contact><name part="first">C{i}</name><name part="last">Buyer</name>'
        f"<email>{customer}</email></contact></customer>"
        f"<vendor><vendorname>{STORE}</vendorname></vendor></prospect></adf>"
    )
    if as_attachment:
        msg.set_content("A new lead is attached.")
        msg.add_attachment(adf.encode(), maintype="application", subtype="xml", filename="lead.xml")
    else:
        msg.set_content(adf)


def _bounce(i: int, when: datetime, customer: str) -> bytes:
    b = f"bounce{i}"
    return (
        f"From: MAILER-DAEMON@mx.example\r\nTo: {DANA}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(when)}\r\nMessage-ID: <m{i}@bench.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\r\n\r\n'
        f"--{b}\r\nContent-Type: text/plain\r\n\r\nDelivery to {customer} failed permanently.\r\n\r\n"
        f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {customer}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {DANA}\r\nTo: {customer}\r\n"
        f"Subject: Your vehicle inquiry\r\n\r\n--{b}--\r\n"
    ).encode()


def load(account: Account, mailbox: Mailbox, n: int) -> None:
    by_folder: dict[str, list[bytes]] = {"INBOX": [], "Sent": []}
    for folder, raw in mailbox.take(n):
        by_folder[folder].append(raw)
    for folder, raws in by_folder.items():
        account.save_many(raws, folder)
    for folder in by_folder:  # build Dovecot's index and cache first, as a long-lived server has them
        account.server.doveadm(
            "fetch", "-u", account.user, "uid size.virtual imap.bodystructure", "mailbox", folder, "all"
        )


def naive(account: Account, parse: bool) -> tuple[int, int, float]:
    """(a) / (b): FETCH RFC822 of everything, 100 per command, with or without mail-parser."""
    began = time.perf_counter()
    count = size = 0
    with IMAPClient("127.0.0.1", port=account.server.port, ssl=False) as client:
        client.login(account.user, account.password)
        for folder in ("INBOX", "Sent"):
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            for start in range(0, len(uids), 100):
                for data in client.fetch(uids[start : start + 100], ["RFC822"]).values():
                    raw = data[b"RFC822"]
                    count, size = count + 1, size + len(raw)
                    if parse:
                        mailparser.parse_from_bytes(raw)
    return count, size, time.perf_counter() - began


def replywatch_poll(config: Path, url: str, profile: str | None = None) -> tuple[float, int, str]:
    """(c) / (d): `replywatch poll --once` as a child process; wall seconds, peak RSS (KiB), output.

    The RSS comes from /usr/bin/time: a child forked from this (large) process would inherit its figure.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLYWATCH_")}
    env["REPLYWATCH_DATABASE_URL"] = url
    prefix = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        cmd = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *prefix]
        cmd += ["-m", "replywatch", "--config", str(config), "poll", "--once"]
        began = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
        if done.returncode:
            raise SystemExit(f"replywatch poll failed:\n{done.stdout}{done.stderr}")
        return seconds, int(rss_file.read_text().split()[-1]), done.stdout.strip()


def source_alone(account: Account) -> float:
    """replywatch's IMAP source without the pipeline: FETCH, reassembly, ids; where (c)'s I/O goes."""
    from replywatch.config import ImapSourceConfig
    from replywatch.sources.imap import ImapSource

    began = time.perf_counter()
    for _ in ImapSource(ImapSourceConfig.model_validate(account.source())).items({}):
        pass
    return time.perf_counter() - began


def write_config(root: Path, account: Account) -> Path:
    source = account.source()
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in source.items())
    config = root / "replywatch.toml"
    config.write_text(
        f'[[stores]]\nname = "{STORE}"\ntimezone = "America/Chicago"\n\n'
        f'[[associates]]\nname = "Dana Lee"\nstore = "{STORE}"\nemails = ["{DANA}"]\n\n'
        f"[[sources]]\n{table}\n"
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rss-at", type=int, default=0, help="grow the mailbox to this size and rerun (c)")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", help="write a cProfile of (c) to this file and print its top entries")
    args = parser.parse_args()
    logging.getLogger("mailparser").setLevel(logging.ERROR)  # (a) parses bounces whose parts it names
    tokens = TokenServer()
    tokens.start()
    root = Path(tempfile.mkdtemp(prefix="replywatch-bench-"))
    root.chmod(0o755)
    dovecot = Dovecot(root, tokens)
    dovecot.start()
    try:
        run(args, dovecot, root)
    finally:
        dovecot.stop()
        tokens.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


def run(args: argparse.Namespace, dovecot: Dovecot, root: Path) -> None:
    account, mailbox = dovecot.account(), Mailbox(seed=5)
    began = time.perf_counter()
    load(account, mailbox, args.messages)
    print(f"loaded {args.messages} messages in {time.perf_counter() - began:.0f} s")
    config = write_config(root, account)
    count, size, t_a = naive(account, parse=True)
    _, _, t_b = naive(account, parse=False)
    before = account.bytes_out
    t_c, rss_c, out_c = replywatch_poll(config, f"sqlite:///{root / 'c.db'}")
    fetched = account.bytes_out - before
    url, schema = pg_schema_url(args.pg)
    try:
        t_d, _, out_d = replywatch_poll(config, url)
    finally:
        drop_schema(args.pg, schema)
    print(f"mailbox: {count} messages, {size / 1e6:,.1f} MB")
    timings = (
        ("a naive FETCH RFC822 + mail-parser", t_a),
        ("b plain RFC822 download", t_b),
        ("c replywatch poll, SQLite", t_c),
        ("d replywatch poll, PostgreSQL", t_d),
    )
    for label, seconds in timings:
        print(f"  {label:<36} {count / seconds:8.1f} messages/s  ({seconds:6.1f} s)")
    t_e = source_alone(account)
    print(f"  {'e replywatch IMAP source alone':<36} {count / t_e:8.1f} messages/s  ({t_e:6.1f} s)")
    print(f"  c/a = {t_c / t_a:.2f}   d/a = {t_d / t_a:.2f}   (target ≤ 0.5)")
    print(f"  bytes fetched by (c): {fetched / 1e6:,.2f} MB = {100 * fetched / size:.2f}% of the mailbox")
    print(f"  (c) said: {out_c.splitlines()[-1]}   (d) said: {out_d.splitlines()[-1]}")
    print(f"  peak RSS of (c) at {count} messages: {rss_c / 1024:.0f} MB")
    if args.profile:  # a separate run: the profiler's overhead must not touch the timings above
        replywatch_poll(config, f"sqlite:///{root / 'profiled.db'}", args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    if args.rss_at > args.messages:
        grow(args, account, mailbox, config, root, rss_c)


def grow(
    args: argparse.Namespace, account: Account, mailbox: Mailbox, config: Path, root: Path, rss: int
) -> None:
    load(account, mailbox, args.rss_at - args.messages)
    t_big, rss_big, out = replywatch_poll(config, f"sqlite:///{root / 'big.db'}")
    print(f"  peak RSS of (c) at {args.rss_at} messages: {rss_big / 1024:.0f} MB "
          f"({rss_big / rss:.2f} × the {args.messages} figure; target ≤ 1.3)  "
          f"[{args.rss_at / t_big:.1f} messages/s; {out.splitlines()[-1]}]")  # fmt: skip


if __name__ == "__main__":
    main()
