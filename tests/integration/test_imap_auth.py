"""XOAUTH2 for real: Dovecot's oauth2 passdb asks the test's introspection URL about each access token."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from mailbuild import DANA, STORE, at, mail
from wiring import pipeline as wired_pipeline

from replywatch.config import ImapSourceConfig, settings_from_dict
from replywatch.errors import PermanentSourceError
from replywatch.reports.status import source_health
from replywatch.sources.imap import ImapSource
from replywatch.store.db import open_database

if TYPE_CHECKING:
    from servers.dovecot import Account
    from servers.oauth import TokenServer

pytest_plugins = ["servers.dovecot"]


def oauth_source(account: Account, tokens: TokenServer, refresh_token: str) -> dict[str, Any]:
    """An XOAUTH2 source table: client secret and refresh token in files, as a deployment keeps them."""
    root = Path(account.server.root)
    (root / f"{account.user}.secret").write_text(tokens.client_secret)
    (root / f"{account.user}.refresh").write_text(refresh_token + "\n")
    table = account.source(auth="xoauth2")
    del table["password_file"]
    table.update(
        oauth2_token_url=f"{tokens.url}/token",
        oauth2_client_id=tokens.client_id,
        oauth2_client_secret_file=str(root / f"{account.user}.secret"),
        oauth2_refresh_token_file=str(root / f"{account.user}.refresh"),
    )
    return table


def read(table: dict[str, Any]) -> int:
    """One poll by a freshly built source, as `replywatch poll --once` or a daemon tick builds it."""
    return len(list(ImapSource(ImapSourceConfig.model_validate(table)).items({})))


def test_xoauth2_logs_in_and_reuses_its_access_token(account: Account, token_server: TokenServer) -> None:
    # Given a mailbox reached with XOAUTH2 and a refresh token from the consent screen
    account.save(mail("ana@example.com", DANA, "Hello", "one", at(3, 9), "<a1@x>"))
    table = oauth_source(account, token_server, token_server.grant(account.user))
    before = token_server.token_requests
    # When it is polled twice
    counts = read(table), read(table)
    # Then both polls read the mail, Dovecot logged an XOAUTH2 login, and one access token served both
    assert counts == (1, 1)
    assert f"user=<{account.user}>, method=XOAUTH2" in account.server.log_path.read_text()
    assert token_server.token_requests - before == 1


def test_a_revoked_access_token_is_replaced_on_the_refused_login(
    account: Account, token_server: TokenServer
) -> None:
    # Given a source holding an access token that the provider then revokes (a password change)
    table = oauth_source(account, token_server, token_server.grant(account.user))
    read(table)
    token_server.revoke_access_tokens(account.user)
    # When it polls again
    # Then the refused login buys a new access token and the poll goes through
    account.save(mail("ana@example.com", DANA, "Hello", "one", at(3, 9), "<a1@x>"))
    assert read(table) == 1


def test_a_revoked_refresh_token_fails_the_source_visibly(
    account: Account, token_server: TokenServer, db_url: str
) -> None:
    # Given an XOAUTH2 source that has polled once
    refresh = token_server.grant(account.user)
    cfg = settings_from_dict(
        {
            "database": {"url": db_url},
            "stores": [{"name": STORE}],
            "sources": [oauth_source(account, token_server, refresh)],
        }
    )
    _, sessions = open_database(cfg.database.url)
    pipeline = wired_pipeline(sessions, cfg, now=lambda: at(30, 12))
    source_table = cfg.sources[0].model_dump()
    pipeline.poll(ImapSource(ImapSourceConfig.model_validate(source_table)))
    # When the dealer's admin removes replywatch's access to the mailbox and the source polls again
    token_server.revoke(refresh)
    with pytest.raises(PermanentSourceError, match="invalid_grant"):
        pipeline.poll(ImapSource(ImapSourceConfig.model_validate(source_table)))
    # Then status shows the source failing, saying what to do
    with sessions() as session:
        report = source_health(session, ["lead-inbox"], at(30, 12))
    assert report["failing"] == ["lead-inbox"]
    assert "authorise replywatch for this mailbox again" in report["sources"][0]["last_error"]
