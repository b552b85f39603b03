"""The Monday digest as a user drives it: a preview in a real browser, sending through a real SMTP server,
figures that agree with `contacts export`, a pinned baseline and the CRM's funnel."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clirun import replywatch
from conftest import need
from digestbuild import ZONES, close, expected, headline, minutes, rate, week_rows
from PIL import Image
from servers.smtp import smtp_server

from replywatch.clock import now
from replywatch.demo import write_sample_dealership
from replywatch.digest.chart import BASELINE, LINE

# The sample dealership's weeks end this Monday; two weeks back every lead is old enough for every rate.
THIS_MONDAY = now().date() - timedelta(days=now().weekday())
WEEK = THIS_MONDAY - timedelta(days=14)
PROBE = """<script>
window.addEventListener("load", function () {
  var img = document.querySelector("img");
  var size = img.complete ? img.naturalWidth + "x" + img.naturalHeight : "none";
  document.body.setAttribute("data-chart", size);
});
</script>"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return replywatch(*args, cwd=cwd)


@dataclass(frozen=True)
class Site:
    root: Path
    config: Path

    def run(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        return cli("--config", str(config or self.config), *args, cwd=self.root)

    def with_smtp(self, port: int) -> Path:
        """The same dealership, its digest going to a loopback SMTP server and a group recipient."""
        text = self.config.read_text().replace(
            "baseline_weeks = 2", 'baseline_weeks = 2\ngroup_recipients = ["owner@group.example"]'
        )
        text += (
            f'\n[digest.smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\nsender = "rw@x.example"\n'
        )
        path = self.root / "with-smtp.toml"
        path.write_text(text)
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The sample dealership (five weeks to this Monday), polled by the CLI once for the module."""
    root = tmp_path_factory.mktemp("digest") / "demo"
    sample = write_sample_dealership(root, seed=11)
    polled = cli("--config", str(sample.config_path), "poll", "--once", cwd=root)
    assert polled.returncode == 0, polled.stderr
    return Site(root, sample.config_path)


@pytest.fixture(scope="module")
def exported(site: Site) -> list[dict[str, str]]:
    """The dealership's `contacts export`, as the CLI writes it."""
    export = site.root / "contacts.csv"
    assert site.run("contacts", "export", "--out", str(export)).returncode == 0
    return list(csv.DictReader(export.open(encoding="utf-8")))


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    browser = shutil.which("chromium")
    if browser is None:
        need(
            "chromium (Debian package `chromium`) for rendering the digest",
            "Chromium (apt-get install chromium)",
        )
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run([str(browser), *flags, *args], capture_output=True, text=True, timeout=90)


def test_the_preview_renders_in_chromium_with_its_chart(site: Site, tmp_path: Path) -> None:
    # Given the preview of a week written by the CLI
    out = tmp_path / "preview.html"
    result = site.run("digest", "preview", "--week", WEEK.isoformat(), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    # When Chromium loads it with a probe that reports the chart image once loaded
    probe = tmp_path / "probe.html"
    probe.write_text(out.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "p1")
    # Then the chart decoded at its full size
    assert 'data-chart="640x260"' in dom.stdout, dom.stderr[-2000:]
    # And a screenshot of the page is not blank and shows the chart's rate line and baseline
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=900,2400", out.as_uri(), profile=tmp_path / "p2")
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert (pixels.sum(axis=2) < 600).mean() > 0.02  # text and tables, not an empty page
    for colour in (LINE, BASELINE):
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).sum(axis=2) < 40).sum() > 150, colour


def _scope_zones(tag: str) -> dict[str, Any]:
    if tag.startswith("group "):
        return ZONES
    return {name: zone for name, zone in ZONES.items() if tag.startswith(re.sub(r"\W+", "-", name.lower()))}


def test_sent_digests_agree_with_contacts_export_and_go_once(
    site: Site, exported: list[dict[str, str]]
) -> None:
    # Given the contacts export of the dealership
    rows = exported
    with smtp_server() as (server, port):
        config = site.with_smtp(port)
        # When a dry run is asked, then the week is sent, then sent again
        dry = site.run("digest", "send", "--week", WEEK.isoformat(), "--dry-run", config=config)
        assert dry.returncode == 0 and dry.stdout.count("would send to") == 3 and server.received == []
        first = site.run("digest", "send", "--week", WEEK.isoformat(), config=config)
        second = site.run("digest", "send", "--week", WEEK.isoformat(), config=config)
        received = list(server.received)
    # Then each store's digest and the group's went once
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0 and second.stdout.count("already sent") == 3
    assert len(received) == 3
    # And every digest's figures are those an independent reading of the export gives
    for mail in received:
        zones = _scope_zones(mail.message["X-Replywatch-Digest"])
        want = expected(week_rows(rows, zones, WEEK), now())
        text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        shown = headline(text)
        assert int(shown["Leads"]) == want["leads"] > 0
        assert rate(shown["Contact rate to date"]) == want["contacted"]
        assert rate(shown["7-day contact rate"]) == want["7d"]
        assert rate(shown["Uncontacted after 48 hours"]) == want["uncontacted_48h"]
        assert close(minutes(shown["Median time-to-contact"]), want["median_ttc_min"])
        assert int(shown["Opt-outs"]) == want["opt_outs"]
    # And `digest status` shows them sent
    status = json.loads(site.run("digest", "status", "--format", "json", config=config).stdout)
    assert {(r["week"], r["status"]) for r in status} == {(WEEK.isoformat(), "sent")}


def test_a_week_is_named_by_its_monday(site: Site) -> None:
    result = site.run("digest", "send", "--week", (WEEK + timedelta(days=2)).isoformat())
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: --week: {(WEEK + timedelta(days=2)).isoformat()} is a Wednesday; weeks start on Monday "
        f"(that week's Monday is {WEEK.isoformat()})"
    ]


def test_a_pinned_baseline_and_the_crm_funnel_show_in_the_digest(
    site: Site, exported: list[dict[str, str]], tmp_path: Path
) -> None:
    # Given a baseline pinned to two weeks, then shown
    first = WEEK - timedelta(days=7)
    pinned = site.run(
        "digest", "baseline", "set", "--from", first.isoformat(), "--to", str(WEEK + timedelta(days=3))
    )
    assert pinned.returncode == 0, pinned.stderr
    assert f"weeks of {first.isoformat()} to {WEEK.isoformat()} (2 weeks)" in pinned.stdout
    shown = site.run("digest", "baseline", "show")
    assert shown.stdout.count("pinned") >= 3
    # And CRM events for two of the week's leads and a walk-in replywatch never saw
    leads = week_rows(exported, ZONES, WEEK)[:2]
    crm = tmp_path / "crm.csv"
    day = (WEEK + timedelta(days=5)).isoformat()
    lines = [f"{r['lead_id']},appointment,{day} 10:00" for r in leads] + [f"WALKIN-1,sold,{day} 12:00"]
    crm.write_text("lead_id,event,at\n" + "\n".join(lines) + "\n")
    # When the events are imported and the week previewed
    imported = site.run("funnel", "import", str(crm))
    out = tmp_path / "preview.html"
    site.run("digest", "preview", "--week", WEEK.isoformat(), "--out", str(out))
    # Then the import says what it took and skipped, and the digest shows the funnel and the baseline
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 events" in imported.stdout and "skipped 1 lead ids" in imported.stdout
    html = out.read_text()
    assert "Funnel by lead source" in html
    assert f"weeks of {first.day} " in html and "(2 weeks, pinned)" in html
