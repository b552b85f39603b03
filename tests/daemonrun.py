"""`replywatch run` as a real background process: started, watched through `status --format json` (run
in this process: it only reads the store) and its log, stopped with a real signal, its exit code and stop
time measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from clirun import clean_env, cli


class DaemonProcess:
    def __init__(
        self,
        config: Path,
        env: Mapping[str, str] | None = None,
        run_args: tuple[str, ...] = (),
        global_args: tuple[str, ...] = (),
        log_path: Path | None = None,
    ) -> None:
        self.config, self.env = config, dict(env or {})
        self.run_args, self.global_args = run_args, global_args
        self.log_path = log_path or config.parent / f"daemon-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        log = self.log_path.open("ab")
        command = ["--config", str(self.config), *self.global_args, "run", *self.run_args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "replywatch", *command],
            env=clean_env(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def send(self, signum: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send `signum`; (exit code, seconds until the process was gone)."""
        assert self.proc is not None
        began = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self.alive():
            self.stop(signal.SIGKILL)

    def status(self) -> dict[str, Any]:
        done = cli("--config", str(self.config), "status", "--format", "json", env=self.env)
        if not done.stdout.strip():
            raise AssertionError(f"status printed nothing: {done.stderr}")
        report: dict[str, Any] = json.loads(done.stdout)
        return report

    def wait_until(
        self, what: str, check: Callable[[], bool], timeout: float = 90, every: float = 0.2
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"the daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}"
                )
            time.sleep(every)
        raise AssertionError(f"timed out waiting for {what}; daemon log:\n{self.log()[-4000:]}")

    def holds(self, what: str, check: Callable[[], bool], seconds: float, every: float = 0.1) -> None:
        """`check` stays true for `seconds` while the daemon runs on: for what must not happen (a second
        delivery), which no event marks; it fails as soon as it turns false."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not check():
                raise AssertionError(f"no longer true: {what}; daemon log:\n{self.log()[-4000:]}")
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise AssertionError(f"the daemon exited ({code}) while {what}:\n{self.log()}")
            time.sleep(every)


def polled_since(report: dict[str, Any], moment: str) -> bool:
    """Every source has finished a poll at or after `moment` (ISO Z, whole seconds) without failing."""
    return all(
        s["last_success_at"] and s["last_success_at"] >= moment and not s["consecutive_failures"]
        for s in report["sources"]
    )
