"""What the CLI and the daemon wire at the edge, wired the same way for tests: the shipped rules and
policy, the directory synced and read back, a pipeline built from them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.clock import now as clock_now
from replywatch.config import Settings
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.reports.export import contact_rows
from replywatch.sources.base import RawItem, Source
from replywatch.sources.factory import build_source
from replywatch.store import Sessions
from replywatch.store.db import open_database


def pipeline(sessions: Sessions, settings: Settings, now: Callable[[], datetime] = clock_now) -> Pipeline:
    """A pipeline with the shipped rules, after syncing `settings`' stores and associates."""
    return Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings), now
    )


def run_sources(settings: Settings, now: Callable[[], datetime]) -> Pipeline:
    """A wired pipeline on `settings`' database that has polled each of its sources once."""
    _, sessions = open_database(settings.database.url)
    done = pipeline(sessions, settings, now)
    for cfg in settings.sources:
        done.poll(build_source(cfg))
    return done


def contacts_by_lead(done: Pipeline) -> dict[str, dict[str, str]]:
    """The contacts export, one row per lead id."""
    with done.sessions() as session:
        return {row["lead_id"]: row for row in contact_rows(session)}


class CrashingSource:
    """A real source, killed after `limit` items as a stopped process would be."""

    def __init__(self, inner: Source, limit: int) -> None:
        self.inner, self.limit, self.name = inner, limit, inner.name

    def items(self, cursors: Mapping[str, str]) -> Iterator[RawItem]:
        for count, item in enumerate(self.inner.items(cursors)):
            if count == self.limit:
                raise SystemExit("killed")
            yield item
