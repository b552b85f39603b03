"""The chaos soak, short: real daemons under steady traffic and random faults (kills, SIGTERM, cut database
connections, a Dovecot restart, Twilio 429/500 storms, SIGHUP with a changed rule) end exactly where one
clean run over the same inputs ends. The long run is the benchmark: `python bench/chaos.py`."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, need, pg_url

pytestmark = pytest.mark.slow


def chaos_bench() -> Any:
    spec = importlib.util.spec_from_file_location("chaos_bench", REPO / "bench" / "chaos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos_bench"] = module
    spec.loader.exec_module(module)
    return module


# PostgreSQL only here (three daemons, backends terminated too); the benchmark soaks SQLite as well.
@pytest.mark.parametrize(("backend", "minutes"), [("postgresql", 2.0)])
def test_a_short_soak_with_faults_ends_equal_to_a_clean_run(
    backend: str, minutes: float, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for tool in ("dovecot", "doveadm", "openssl"):
        if not shutil.which(tool):
            need(
                f"{tool} (Debian packages dovecot-imapd, openssl)",
                "Dovecot (apt-get install dovecot-imapd openssl)",
            )
    if backend == "postgresql":
        request.getfixturevalue("pg_db_url")  # skips (or fails in CI) when PostgreSQL is not there
    # Given daemons on one database, traffic for `minutes` and a fault every ~10 s
    args = ["--minutes", str(minutes), "--backend", backend, "--fault-every", "10", "--interval", "5"]
    args += ["--pg", pg_url(), "--json", str(tmp_path / "chaos.json")]
    # When the soak has run and everything has been quiet for a poll of every source
    (result,) = chaos_bench().main(args, emit=lambda _result: None)
    # Then faults did happen, and nothing was lost or stored twice
    assert sum(result["faults"].values()) >= 3, result
    assert result["traffic_errors"] == [], result
    assert result["items_in"] > 0 and result["items_stored"] == result["clean_stored"], result
    assert (result["lost"], result["doubled"]) == (0, 0), result
    # And the store converged to the clean run's export, no dead daemon holds a lease, and the health
    # check passes
    assert result["export_equal"] and result["convergence_after_last_fault_s"] is not None, result
    assert result["dead_leases"] == [], result
    assert result["status_check_ok"], result
