"""What every command needs: the settings, the database and the rules, opened on demand.

Nothing heavy is imported here: `--help` and every command import this module, and the configuration
(pydantic), the database (SQLAlchemy) and the rules are loaded only when a command asks for them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from replywatch.cli.output import console, err_console

if TYPE_CHECKING:
    from replywatch.classify.rules import RuleSet
    from replywatch.config import Settings
    from replywatch.ingest.directory import Directory
    from replywatch.store import Sessions
    from replywatch.store.db import Engine

__all__ = ["Runtime", "console", "err_console", "runtime"]


@dataclass
class Runtime:
    config: Path | None  # --config, if given
    debug: bool = False
    _config_path: Path | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)
    _db: tuple[Engine, Sessions] | None = field(default=None, repr=False)
    _directory: Directory | None = field(default=None, repr=False)
    _rules: RuleSet | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        """--config, else $REPLYWATCH_CONFIG, else ./replywatch.toml."""
        if self._config_path is None:
            from replywatch.config import DEFAULT_CONFIG

            self._config_path = self.config or Path(os.environ.get("REPLYWATCH_CONFIG") or DEFAULT_CONFIG)
        return self._config_path

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from replywatch.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def sessions(self) -> Sessions:
        if self._db is None:
            from replywatch.store.db import open_database

            self._db = open_database(self.settings.database.url)
        return self._db[1]

    @property
    def engine(self) -> Engine:
        _ = self.sessions
        assert self._db is not None
        return self._db[0]

    def zone(self) -> tzinfo:
        """The zone people read times in: the first store's (UTC when none is configured)."""
        store = self.settings.default_store
        return store.zone if store else UTC

    def rules_dir(self) -> Path:
        """The configured rules folder, else rules/ beside the config file, else the shipped defaults."""
        from replywatch.classify.rules import default_rules_dir

        if self.config_path.exists() and self.settings.rules_dir:
            return Path(self.settings.rules_dir)
        beside = self.config_path.resolve().parent / "rules"
        return beside if beside.is_dir() else default_rules_dir()

    def rules(self) -> RuleSet:
        """The rules folder's rules and its matching policy, loaded once per command."""
        if self._rules is None:
            from replywatch.classify.rules import load_rules

            self._rules = load_rules(self.rules_dir())
        return self._rules

    def directory(self) -> Directory:
        """The configured stores and associates, synced into the database once per command that needs
        them (idempotent), then read back."""
        if self._directory is None:
            from replywatch.ingest.directory import open_directory

            self._directory = open_directory(self.sessions, self.settings)
        return self._directory


def runtime(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    assert isinstance(obj, Runtime)
    return obj
