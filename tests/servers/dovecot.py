"""A real Dovecot on loopback per test session, built from tests/data/dovecot/dovecot.conf.

On top of that config it serves implicit TLS on a second port and STARTTLS on the plain one
(a self-signed certificate made here with openssl), XOAUTH2 against the session's token server
(dovecot-oauth2.conf), and a SPECIAL-USE \\Sent folder under a non-English name. Each test gets its
own account; its sessions' `out=` byte counts are read from Dovecot's log.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, need
from imapclient import IMAPClient

from servers.oauth import TokenServer
from servers.ports import free_port

SENT_SPECIAL_USE = "Gesendete Elemente"
SPARE_ACCOUNTS = 64  # Outlook's German name: found only by its \Sent flag
_OUT_RE = re.compile(r"imap\((?P<user>[^)]+)\).*Disconnected.* out=(?P<out>\d+)")


class Dovecot:
    """One Dovecot master process in `root`; stop() and start() keep its ports and mail."""

    def __init__(self, root: Path, tokens: TokenServer) -> None:
        self.root, self.tokens = root, tokens
        self.port, self.tls_port = free_port(), free_port()
        self.conf = root / "dovecot.conf"
        self.log_path = root / "dovecot.log"
        self.ca_file = root / "cert.pem"
        self._proc: subprocess.Popen[bytes] | None = None
        self._spare: list[tuple[str, str]] = []
        self._write_files()
        self._add_users(SPARE_ACCOUNTS)

    def _write_files(self) -> None:
        for sub in ("run", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        shutil.chown(self.root / "mail", "dovecot", "dovecot")
        (self.root / "users").write_text("")
        _self_signed(self.root)
        (self.root / "oauth2.conf.ext").write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.tokens.url}/introspect\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        )
        self.conf.write_text(self._config())

    def _config(self) -> str:
        base = (DATA / "dovecot" / "dovecot.conf").read_text()
        base = base.replace("@ROOT@", str(self.root)).replace("@PORT@", str(self.port))
        base = base.replace(
            "auth_mechanisms = plain login", "auth_mechanisms = plain login xoauth2 oauthbearer"
        )
        base = base.replace(
            "ssl = no", f"ssl = yes\nssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem"
        )
        base = base.replace("    port = 0", f"    port = {self.tls_port}")
        oauth = (DATA / "dovecot" / "dovecot-oauth2.conf").read_text()
        oauth_block = (
            oauth[oauth.index("passdb {") :].split("# @ROOT@", 1)[0].replace("@ROOT@", str(self.root))
        )
        special = f'namespace inbox {{\n  inbox = yes\n  mailbox "{SENT_SPECIAL_USE}" {{\n'
        special += "    special_use = \\Sent\n  }\n}\n"
        # No penalty for failed logins from loopback: tests fail logins on purpose, one after another.
        quick = "auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.0/8\n"
        # Each imap process names its user and the command in hand (IDLE …) in its title: `command`.
        quick += "verbose_proctitle = yes\n"
        return base + oauth_block + quick + special

    def start(self) -> None:
        self._proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.conf)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited: {self._proc.stderr.read().decode() if self._proc.stderr else ''}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening")

    def stop(self, end_sessions: bool = False) -> None:
        """Stop the master. Its imap processes outlive it by about ten seconds, serving their clients,
        then say BYE ("Server shutting down"); with `end_sessions` they are sent SIGTERM as soon as the
        master is gone, as `systemctl stop` sends it to the unit's processes, and say it at once."""
        if self._proc and self._proc.poll() is None:
            sessions = self.sessions() if end_sessions else []
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(timeout=15)
            self.end(sessions)
        self._proc = None

    def sessions(self) -> list[int]:
        """The pids of the imap processes serving clients now (the master's children, from /proc)."""
        if self._proc is None or self._proc.poll() is not None:
            return []
        return [pid for pid in _children(self._proc.pid) if _is_imap(pid)]

    @staticmethod
    def end(sessions: list[int]) -> None:
        """SIGTERM to each of these imap processes still there: each says BYE ("Server shutting down")
        to its client, logs it and exits, as when its master ends it; returns once they are gone."""
        for pid in sessions:
            if _is_imap(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while any(_is_imap(pid) for pid in sessions) and time.monotonic() < deadline:
            time.sleep(0.02)

    @staticmethod
    def command(pid: int) -> str:
        """An imap process's title, `dovecot/imap [user ip COMMAND]` (verbose_proctitle); "" once gone."""
        return _title(pid)

    def account(self) -> Account:
        """A fresh mailbox. Made ahead of start: Dovecot rereads its users file at most once a second,
        and a login it refuses meanwhile costs seconds, so when the spares run out a batch more is
        written and given that second (no event tells when Dovecot has read them)."""
        if not self._spare:
            self._add_users(SPARE_ACCOUNTS)
            time.sleep(1.1)
        user, password = self._spare.pop()
        return Account(self, user, password)

    def _add_users(self, count: int) -> None:
        made = [
            (f"leads-{secrets.token_hex(4)}@dealer.test", secrets.token_urlsafe(12)) for _ in range(count)
        ]
        with (self.root / "users").open("a") as fh:
            fh.writelines(f"{user}:{{PLAIN}}{password}\n" for user, password in made)
        self._spare.extend(made)

    def doveadm(self, *args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            ["doveadm", "-c", str(self.conf), *args], input=stdin, capture_output=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"doveadm {' '.join(args)}: {done.stderr.decode()}")
        return done.stdout.decode()

    def bytes_out(self, user: str) -> int:
        """Bytes Dovecot sent to this user's IMAP sessions, as its log reports them at logout."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return sum(int(m["out"]) for m in _OUT_RE.finditer(text) if m["user"] == user)


class Account:
    """One mailbox on the session's Dovecot, with the ways tests fill it and look at it."""

    sent_special_use = SENT_SPECIAL_USE

    def __init__(self, server: Dovecot, user: str, password: str) -> None:
        self.server, self.user, self.password = server, user, password

    def save(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.doveadm("save", "-u", self.user, "-m", folder, stdin=raw)

    def save_many(self, raws: Iterable[bytes], folder: str = "INBOX") -> int:
        """Bulk load through a Maildir that `doveadm import` copies in one go."""
        source = self.server.root / f"import-{secrets.token_hex(4)}"
        box = source / (f".{folder}" if folder != "INBOX" else "")
        for sub in ("cur", "new", "tmp"):
            (source / sub).mkdir(parents=True, exist_ok=True)
            (box / sub).mkdir(parents=True, exist_ok=True)
        count = 0
        for count, raw in enumerate(raws, start=1):
            (box / "cur" / f"{count:08d}.import:2,").write_bytes(raw)
        subprocess.run(["chown", "-R", "dovecot:dovecot", str(source)], check=True)
        self.create_folder(folder)
        self.server.doveadm("import", "-u", self.user, f"maildir:{source}", "", "mailbox", folder)
        shutil.rmtree(source)
        return count

    def import_maildir(self, maildir: Path) -> None:
        """Every folder of a Maildir++ tree (INBOX and `.Sent` …) copied in by `doveadm import`."""
        source = self.server.root / f"import-{secrets.token_hex(4)}"
        shutil.copytree(maildir, source)
        subprocess.run(["chown", "-R", "dovecot:dovecot", str(source)], check=True)
        self.server.doveadm("import", "-u", self.user, f"maildir:{source}", "", "all")
        shutil.rmtree(source)

    def create_folder(self, folder: str) -> None:
        if folder != "INBOX" and folder not in self.folders():
            self.server.doveadm("mailbox", "create", "-u", self.user, folder)

    def delete_folder(self, folder: str) -> None:
        self.server.doveadm("mailbox", "delete", "-u", self.user, "-r", folder)

    def folders(self) -> list[str]:
        return self.server.doveadm("mailbox", "list", "-u", self.user).splitlines()

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """UID -> flags, read by doveadm on the server itself (no IMAP session that could change them)."""
        out = self.server.doveadm("fetch", "-u", self.user, "uid flags", "mailbox", folder, "all")
        found, uid = {}, 0
        for line in out.splitlines():
            if line.startswith("uid: "):
                uid = int(line[5:])
            elif line.startswith("flags:"):
                found[uid] = " ".join(sorted(f for f in line[6:].split() if f != "\\Recent"))
        return found

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.server.port, ssl=False)
        client.login(self.user, self.password)
        return client

    def append(
        self, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = (), when: datetime | None = None
    ) -> None:
        with self.client() as client:
            client.append(folder, raw, flags=tuple(flags), msg_time=when)

    def source(self, **overrides: Any) -> dict[str, Any]:
        """The [[sources]] table replywatch needs for this mailbox (plain text on loopback)."""
        secret = self.server.root / f"{self.user}.password"
        secret.write_text(self.password)
        table: dict[str, Any] = {
            "name": "lead-inbox",
            "type": "imap",
            "host": "127.0.0.1",
            "port": self.server.port,
            "tls": False,
            "username": self.user,
            "password_file": str(secret),
        }
        table.update(overrides)
        return table

    @property
    def bytes_out(self) -> int:
        return self.server.bytes_out(self.user)


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent` now, read from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def _is_imap(pid: int) -> bool:
    """`pid` is still a live (not zombie) Dovecot imap process, one that serves a client's session."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    title = _title(pid)
    return state != "Z" and (title.startswith("dovecot/imap [") or title.strip() == "dovecot/imap")


def _self_signed(root: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def token_server() -> Iterator[TokenServer]:
    server = TokenServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot(token_server: TokenServer) -> Iterator[Dovecot]:
    """The session's Dovecot; a test that stops it must start it again."""
    for tool in ("dovecot", "doveadm", "openssl"):
        if not shutil.which(tool):
            need(
                f"{tool} (Debian packages dovecot-imapd, openssl)",
                "Dovecot (apt-get install dovecot-imapd openssl)",
            )
    # Dovecot's unprivileged processes must reach the folder: pytest's own temp tree is private (0700).
    root = Path(tempfile.mkdtemp(prefix="replywatch-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root, token_server)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    """A fresh, empty mailbox for one test."""
    return dovecot.account()
