"""What the CLI and the daemon wire at the edge, wired the same way for tests: the shipped rules and
policy, the directory synced and read back, a pipeline built from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from replywatch.classify.rules import default_rules_dir, load_rules
from replywatch.clock import now as clock_now
from replywatch.config import Settings
from replywatch.ingest.directory import open_directory
from replywatch.ingest.pipeline import Pipeline
from replywatch.store import Sessions


def pipeline(sessions: Sessions, settings: Settings, now: Callable[[], datetime] = clock_now) -> Pipeline:
    """A pipeline with the shipped rules, after syncing `settings`' stores and associates."""
    return Pipeline(
        sessions, settings, load_rules(default_rules_dir()), open_directory(sessions, settings), now
    )
