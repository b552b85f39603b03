"""The files around the code stay true: compose, the image and the systemd unit run real commands, the
dev profile's servers and config agree, the README documents every command."""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.main import get_command

from replywatch.cli.app import app
from replywatch.config import ImapSourceConfig, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "deploy" / "dev"
UNIT = REPO / "deploy" / "replywatch.service"


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


def _invocation(args: list[str]) -> str:
    """The command path that `replywatch ARGS` runs, e.g. "status"; fails on an unknown command or option."""
    cmd: Any = get_command(app)
    path: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            options = [p for p in cmd.params if name in p.opts or name in p.secondary_opts]
            assert options, f"replywatch {' '.join(path)}: no option {name} (in {args})"
            takes_value = not (options[0].is_flag or options[0].count)
            if takes_value and "=" not in arg:
                assert rest, f"{name} needs a value (in {args})"
                rest.pop(0)
        elif getattr(cmd, "commands", None):
            assert arg in cmd.commands, f"replywatch {' '.join(path)}: no command {arg!r} (in {args})"
            cmd = cmd.commands[arg]
            path.append(arg)
        else:
            break  # the command's arguments
    assert path and not getattr(cmd, "commands", None), f"{args} names no command"
    return " ".join(path)


def _compose() -> dict[str, Any]:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(compose, dict)
    return compose


def test_compose_file_parses_and_runs_a_real_command() -> None:
    # Given docker-compose.yml (no Docker engine runs here, so it is checked, not run)
    compose = _compose()
    service = compose["services"]["replywatch"]
    # Then the daemon's command and its health check are commands the CLI has, with options it has
    assert _invocation(service["command"]) == "run"
    health = service["healthcheck"]["test"]
    assert health[:2] == ["CMD", "replywatch"] and _invocation(health[2:]) == "status"
    assert "--check" in health
    assert "postgres" in compose["services"]
    assert service["environment"]["REPLYWATCH_DATABASE_URL"].startswith("postgresql+psycopg://")
    # And the daemon gets the time it needs to stop (it finishes the item in hand within 10 s)
    assert service["stop_signal"] == "SIGTERM" and int(service["stop_grace_period"].rstrip("s")) > 10


def test_the_dev_profile_adds_dovecot_and_mailpit_only_under_the_profile() -> None:
    services = _compose()["services"]
    # Given the services with and without a profile
    profiled = {name for name, s in services.items() if s.get("profiles")}
    # Then only the dev servers are in a profile, and it is `dev`
    assert profiled == {"dovecot", "mailpit"}
    assert all(services[name]["profiles"] == ["dev"] for name in profiled)
    assert services["dovecot"]["image"].startswith("dovecot/dovecot:2.3")  # the config is 2.3 syntax
    assert services["mailpit"]["image"].split(":")[0] == "axllent/mailpit"
    # And they are published on the host's loopback only: IMAP 143, SMTP 1025, the web UI 8025
    assert services["dovecot"]["ports"] == ["127.0.0.1:143:143"]
    assert sorted(services["mailpit"]["ports"]) == ["127.0.0.1:1025:1025", "127.0.0.1:8025:8025"]
    # And the Dovecot configuration it mounts is in the repository
    mount = next(v for v in services["dovecot"]["volumes"] if v.endswith(":/etc/dovecot:ro"))
    assert (REPO / mount.split(":")[0] / "dovecot.conf").is_file()


def _dev_users() -> dict[str, str]:
    lines = (DEV / "dovecot" / "users").read_text().splitlines()
    pairs = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {user: secret.removeprefix("{PLAIN}").split(":", 1)[0] for user, secret in pairs}


def test_the_dev_config_points_the_daemon_at_the_dev_servers() -> None:
    # Given the sample config of the dev profile, mounted at /etc/replywatch by REPLYWATCH_CONFIG_DIR
    settings = load_settings(DEV / "replywatch.toml", environ={})
    compose = _compose()
    mount = next(v for v in compose["services"]["replywatch"]["volumes"] if ":/etc/replywatch" in v)
    assert mount.startswith("${REPLYWATCH_CONFIG_DIR:-./config}:")
    # Then its IMAP source is the dovecot service on 143, logging in as the test user with its password
    imap = settings.sources[0]
    assert isinstance(imap, ImapSourceConfig)
    assert (imap.host, imap.effective_port, imap.mode) == ("dovecot", 143, "plain")
    assert imap.password_file and imap.password_file.startswith("/etc/replywatch/")
    password = (DEV / imap.password_file.removeprefix("/etc/replywatch/")).read_text().strip()
    assert _dev_users()[imap.username] == password
    # And the digest goes to the mailpit service's SMTP port
    smtp = settings.digest.smtp
    assert (smtp.host, smtp.effective_port, smtp.mode) == ("mailpit", 1025, "plain")
    assert "1025" in " ".join(compose["services"]["mailpit"]["ports"])


def test_the_dev_dovecot_config_is_valid_dovecot_2_3() -> None:
    doveconf = shutil.which("doveconf") or (
        "/usr/bin/doveconf" if Path("/usr/bin/doveconf").exists() else None
    )
    if doveconf is None:
        pytest.skip("doveconf (Debian package dovecot-core) is not installed")
    done = subprocess.run(
        [doveconf, "-n", "-c", str(DEV / "dovecot" / "dovecot.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "driver = passwd-file" in done.stdout and "special_use = \\Sent" in done.stdout


def _compose_client() -> list[str] | None:
    """`docker compose` when the plugin is there, else a standalone Compose v2 `docker-compose`."""
    candidates = [["docker", "compose"]] if shutil.which("docker") else []
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for client in candidates:
        done = subprocess.run([*client, "version"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and re.search(r"v?2\.\d+", done.stdout):
            return client
    return None


@pytest.mark.parametrize("profile", [None, "dev"])
def test_compose_validates_the_file(profile: str | None) -> None:
    # `docker compose config` needs only the client, no engine
    client = _compose_client()
    if client is None:
        pytest.skip(
            "no Docker Compose v2 client (`docker compose` plugin or `docker-compose`) to validate with"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLYWATCH_", "COMPOSE_", "POSTGRES_"))}
    args = [*client, "-f", str(REPO / "docker-compose.yml")]
    if profile:
        args += ["--profile", profile]
        env["REPLYWATCH_CONFIG_DIR"] = "./deploy/dev"
    done = subprocess.run([*args, "config", "--format", "json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    services = json.loads(done.stdout)["services"]
    expected = {"replywatch", "postgres"} | ({"dovecot", "mailpit"} if profile else set())
    assert set(services) == expected
    mounts = {v["target"]: v["source"] for v in services["replywatch"]["volumes"]}
    assert mounts["/etc/replywatch"] == str(REPO / ("deploy/dev" if profile else "config"))


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_the_systemd_unit_runs_the_daemon_hardened() -> None:
    # Given deploy/replywatch.service
    unit = _unit()
    service = unit["Service"]
    # Then it starts a real command: the daemon, with the config under /etc/replywatch
    exec_start = shlex.split(service["ExecStart"])
    assert exec_start[0] == "/usr/local/bin/replywatch"
    assert _invocation(exec_start[1:]) == "run"
    assert exec_start[1:3] == ["--config", "/etc/replywatch/replywatch.toml"]
    # And it runs as its own user, restarts on failure and stops with SIGTERM, giving the daemon its 10 s
    assert service["Type"] == "simple"
    assert service["User"] not in ("", "root", "0")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) > 10
    # And it is hardened; only the state directory (SQLite's home) is writable; secrets come from a file
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }
    assert {k: service[k] for k in hardening} == hardening
    assert service["ReadWritePaths"].split() == [f"/var/lib/{service['StateDirectory']}"]
    assert service["EnvironmentFile"] == "-/etc/replywatch/env"
    assert "ExecStartPre" not in service
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # Given the unit with ExecStart pointing at an executable that exists here
    unit = tmp_path / "replywatch.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/replywatch", sys.executable))
    # When systemd checks it; Then it has nothing to say
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_dockerfile_runs_as_non_root_and_starts_the_daemon() -> None:
    text = (REPO / "Dockerfile").read_text()
    final = text.rsplit("\nFROM ", 1)[1]  # the runtime stage
    user = re.search(r"^USER (\S+)", final, re.M)
    assert user and user[1].split(":")[0] not in ("root", "0")
    assert 'ENTRYPOINT ["replywatch"]' in text and 'CMD ["run"]' in text
    # And its health check is `replywatch status --check`
    health = re.search(r"^HEALTHCHECK [^\n]*(?:\\\n[^\n]*)*CMD (\[.*\])$", final, re.M)
    assert health, "no HEALTHCHECK … CMD [...] in the runtime stage"
    args = json.loads(health[1])
    assert args[0] == "replywatch" and _invocation(args[1:]) == "status" and "--check" in args


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [c for c in sorted(_commands()) if f"replywatch {c}" not in readme]
    assert missing == []


def test_every_option_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [
        f"{' '.join(path)} {opt}"
        for path, cmd in _leaf_commands(get_command(app), [])
        for param in cmd.params
        for opt in param.opts
        if opt.startswith("--") and opt != "--help" and opt not in readme
    ]
    assert missing == []


def _leaf_commands(cmd: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    subs = getattr(cmd, "commands", None)
    if not subs:
        yield path, cmd
    for name, sub in (subs or {}).items():
        yield from _leaf_commands(sub, [*path, name])


def test_every_config_key_is_in_the_readme() -> None:
    """Each key of every table, as a TOML line (`key = …`, commented or not) or named in backticks."""
    readme = (REPO / "README.md").read_text()
    missing = [
        key
        for key in sorted(_config_keys(Settings))
        if not re.search(rf"(?m)^#?\s*{key}\s*=|`{key}\b|\[{key}\]|\.{key}\]", readme)
    ]
    assert missing == []


def _config_keys(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    keys = set(model.model_fields)
    for field in model.model_fields.values():
        for nested in _models(field.annotation):
            if nested not in seen:
                seen.add(nested)
                keys |= _config_keys(nested, seen)
    return keys


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def test_readme_quick_start_is_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_starter_config_is_valid(tmp_path: Path) -> None:
    from replywatch.cli.starter import STARTER_CONFIG

    (tmp_path / "replywatch.toml").write_text(STARTER_CONFIG)
    settings = load_settings(tmp_path / "replywatch.toml", environ={})
    assert settings.stores[0].opening_hours()[6] is None  # Sunday closed
    assert settings.sources == []  # every source is an example to uncomment


def _commented_sources(text: str) -> list[str]:
    """Each commented [[sources]] block of the starter, uncommented."""
    blocks = text.split("# [[sources]]\n")[1:]
    return [
        "[[sources]]\n" + "\n".join(line.removeprefix("# ") for line in b.split("\n\n")[0].splitlines())
        for b in blocks
    ]


def test_each_commented_source_of_the_starter_is_a_valid_setup(tmp_path: Path) -> None:
    from replywatch.cli.starter import STARTER_CONFIG

    blocks = _commented_sources(STARTER_CONFIG)
    assert len(blocks) == 5
    kinds = []
    for block in blocks:
        (tmp_path / "replywatch.toml").write_text(STARTER_CONFIG + "\n" + block + "\n")
        [source] = load_settings(tmp_path / "replywatch.toml", environ={}).sources
        kinds.append((source.type, getattr(source, "host", None), getattr(source, "auth", None)))
    assert kinds == [
        ("imap", "imap.example.com", "password"),
        ("imap", "outlook.office365.com", "xoauth2"),
        ("imap", "imap.gmail.com", "xoauth2"),
        ("twilio", None, None),
        ("sms-csv", None, None),
    ]


def test_each_commented_notify_target_of_the_starter_is_valid(tmp_path: Path) -> None:
    from replywatch.cli.starter import STARTER_CONFIG

    blocks = [
        "[[notify]]\n"
        + "\n".join(line.removeprefix("# ") for line in b.split("\n#\n")[0].split('\n"""')[0].splitlines())
        for b in STARTER_CONFIG.split("# [[notify]]\n")[1:]
    ]
    assert len(blocks) == 3
    (tmp_path / "replywatch.toml").write_text(STARTER_CONFIG + "\n" + "\n".join(blocks) + "\n")
    settings = load_settings(tmp_path / "replywatch.toml", environ={})
    assert [(t.name, t.type) for t in settings.notify] == [
        ("bdc-slack", "slack"),
        ("manager", "email"),
        ("crm", "webhook"),
    ]
    assert settings.alerts.untouched_after_minutes == 15
