"""The README's Install steps, run as written (paths moved into a temporary folder, `sudo` dropped) in
throwaway virtual environments: the command lands on PATH and works on a fresh configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # a full install of every dependency, twice for pipx


def install_blocks() -> list[list[str]]:
    """The `sh` blocks of the README's Install section, as lists of commands."""
    section = (REPO / "README.md").read_text().split("## Install\n", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```sh\n")[1:]]
    return [[line.split("  #")[0].strip() for line in block.strip().splitlines()] for block in blocks]


def clone(tmp: Path) -> Path:
    """The repository's files as a fresh clone has them (no .venv, no caches)."""
    junk = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", ".*_cache", "build", "demo")
    return Path(shutil.copytree(REPO, tmp / "replywatch", ignore=junk))


def run(commands: list[str], cwd: Path, moves: dict[str, str], env: dict[str, str]) -> None:
    for command in commands:
        for old, new in moves.items():
            command = command.replace(old, new)
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"


def fresh_env(bin_dir: Path) -> dict[str, str]:
    """PATH without this test run's virtual environment: only what the steps install is found."""
    ours = str(Path(sys.executable).parent)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != ours]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPLYWATCH_", "VIRTUAL_ENV"))}
    return env | {"PATH": os.pathsep.join([str(bin_dir), *path])}


def configure_and_check(tmp: Path, env: dict[str, str]) -> None:
    """The README's last Install block: init a configuration, then status on it."""
    etc = tmp / "etc"
    run(install_blocks()[2], tmp, {"sudo ": "", "/etc/replywatch": str(etc)}, env)
    assert (etc / "replywatch.toml").is_file() and (etc / "rules").is_dir()


def test_the_pip_steps_put_a_working_replywatch_on_path(tmp_path: Path) -> None:
    # Given a clone and the README's service install steps
    source = clone(tmp_path)
    bin_dir = tmp_path / "usr-local-bin"
    bin_dir.mkdir()
    env = fresh_env(bin_dir)
    moves = {"sudo ": "", "/opt/replywatch": str(tmp_path / "opt"), "/usr/local/bin": str(bin_dir)}
    # When they are run as written
    run(install_blocks()[0], source, moves, env)
    # Then `replywatch` on PATH is the installed one, and it configures a new dealership
    assert shutil.which("replywatch", path=env["PATH"]) == str(bin_dir / "replywatch")
    configure_and_check(tmp_path, env)


def test_the_pipx_steps_put_a_working_replywatch_on_path(tmp_path: Path) -> None:
    # Given a clone and pipx, installed into a throwaway venv (this machine has none of its own)
    source = clone(tmp_path)
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    subprocess.run([str(tools / "bin" / "pip"), "install", "--quiet", "pipx"], check=True, timeout=600)
    bin_dir = tmp_path / "local-bin"
    env = fresh_env(bin_dir)
    env |= {
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(bin_dir),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    env["PATH"] = os.pathsep.join([env["PATH"], str(tools / "bin")])
    # When the README's pipx steps are run
    run(install_blocks()[1], source, {}, env)
    # Then replywatch is on PATH from pipx's bin folder and configures a new dealership
    assert shutil.which("replywatch", path=env["PATH"]) == str(bin_dir / "replywatch")
    configure_and_check(tmp_path, env)
