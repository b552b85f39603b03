"""Syncing the configured stores and associates: idempotent, and safe when several daemons start at once."""

from __future__ import annotations

import threading
from pathlib import Path

from mailbuild import DANA, STORE, settings
from sqlalchemy import func, select

from replywatch.ingest.directory import Directory, open_directory
from replywatch.store.db import open_database
from replywatch.store.models import Associate, AssociateIdentity, Store


def test_daemons_starting_together_on_an_empty_database_all_get_the_directory(
    tmp_path: Path, pg_db_url: str
) -> None:
    # Given a fresh PostgreSQL database and four daemons' worth of engines
    cfg = settings(tmp_path, pg_db_url)
    sessionmakers = [open_database(pg_db_url)[1] for _ in range(4)]
    start = threading.Barrier(len(sessionmakers))
    found: list[Directory] = []
    errors: list[BaseException] = []

    def start_up(index: int) -> None:
        start.wait(10)
        try:
            found.append(open_directory(sessionmakers[index], cfg))
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    # When they all sync the directory at the same moment
    threads = [threading.Thread(target=start_up, args=(i,)) for i in range(len(sessionmakers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # Then none fails, each sees the same store and associate, and the rows exist once
    assert errors == []
    assert {d.store(STORE).id for d in found if d.store(STORE)} == {found[0].stores[STORE.casefold()].id}
    assert all(d.associates_of("email", DANA) for d in found)
    with sessionmakers[0]() as session:
        counts = [
            session.scalar(select(func.count()).select_from(m)) for m in (Store, Associate, AssociateIdentity)
        ]
    assert counts == [1, 1, 2]


def test_a_changed_configuration_updates_the_rows_it_names(tmp_path: Path, db_url: str) -> None:
    # Given a directory synced once
    cfg = settings(tmp_path, db_url)
    _, sessions = open_database(db_url)
    open_directory(sessions, cfg)
    # When the store moves time zone and Dana changes address, and the sync runs again
    table = cfg.model_dump()
    table["stores"][0]["timezone"] = "America/Denver"
    table["associates"][0]["emails"] = ["dana.lee@mainstreethonda.example"]
    changed = type(cfg).model_validate(table)
    directory = open_directory(sessions, changed)
    # Then the rows follow the configuration, and the old address is no longer Dana's
    store = directory.store(STORE)
    assert store is not None and str(store.zone) == "America/Denver"
    assert directory.associates_of("email", DANA) == []
    assert directory.associates_of("email", "dana.lee@mainstreethonda.example") != []
