"""What every command needs: the settings, the database and the rules, opened on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from replywatch.config import DEFAULT_CONFIG, Settings, load_settings
from replywatch.rules import RuleSet, default_rules_dir, load_rules
from replywatch.store.db import open_database

# soft_wrap: long lines (paths, errors) stay whole when output goes to a file or another program.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class Runtime:
    config_path: Path | None
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _db: tuple[Engine, sessionmaker[Session]] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._db is None:
            self._db = open_database(self.settings.database.url)
        return self._db[1]

    @property
    def engine(self) -> Engine:
        _ = self.sessions
        assert self._db is not None
        return self._db[0]

    def rules_dir(self) -> Path:
        """The configured rules folder, else rules/ beside the config file, else the shipped defaults."""
        has_config = self.config_path is not None and self.config_path.exists()
        if has_config and self.settings.rules_dir:
            return Path(self.settings.rules_dir)
        beside = Path(self.config_path or DEFAULT_CONFIG).resolve().parent / "rules"
        return beside if beside.is_dir() else default_rules_dir()

    def rules(self) -> RuleSet:
        return load_rules(self.rules_dir())


def runtime(ctx: typer.Context) -> Runtime:
    obj = ctx.find_root().obj
    assert isinstance(obj, Runtime)
    return obj
