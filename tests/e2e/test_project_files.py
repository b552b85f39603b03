"""The files around the code stay true: compose runs a real command, the README documents every one."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from replywatch.cli.app import app
from replywatch.config import load_settings

REPO = Path(__file__).resolve().parents[2]


def _commands() -> set[str]:
    """Every command path of the CLI, e.g. "poll", "contacts export"."""
    root = get_command(app)
    found: set[str] = set()
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            found.update(f"{name} {sub}" for sub in subs)
        else:
            found.add(name)
    return found


def test_compose_file_parses_and_runs_a_real_command() -> None:
    # Given docker-compose.yml (no Docker engine runs here, so it is checked, not run)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    service = compose["services"]["replywatch"]
    # Then the daemon's command and its health check are commands the CLI has
    assert " ".join(service["command"]) in _commands()
    health = service["healthcheck"]["test"]
    assert health[1] == "replywatch" and health[2] in _commands()
    assert "postgres" in compose["services"]
    assert service["environment"]["REPLYWATCH_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_dockerfile_runs_as_non_root_and_starts_the_daemon() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert 'ENTRYPOINT ["replywatch"]' in text and 'CMD ["run"]' in text


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [c for c in sorted(_commands()) if f"replywatch {c}" not in readme]
    assert missing == []


def test_readme_quick_start_is_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_starter_config_is_valid(tmp_path: Path) -> None:
    from replywatch.starter import STARTER_CONFIG

    (tmp_path / "replywatch.toml").write_text(STARTER_CONFIG)
    settings = load_settings(tmp_path / "replywatch.toml", environ={})
    assert settings.stores[0].opening_hours()[6] is None  # Sunday closed
    assert [s.type for s in settings.sources] == ["maildir", "sms-csv"]
