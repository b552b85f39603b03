"""The Monday digest as a user drives it: a preview in a real browser, sending through a real SMTP server,
figures that agree with `contacts export`, a pinned baseline and the CRM's funnel."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clirun import replywatch
from conftest import REPO, need
from digestbuild import ZONES, close, expected, sentences, week_rows
from PIL import Image
from servers.smtp import smtp_server

from replywatch.clock import now
from replywatch.config import load_settings
from replywatch.demo import write_sample_dealership
from replywatch.digest.build import Digest, build_digest
from replywatch.digest.chart import BASELINE, HEIGHT_PX, LINE, WIDTH_PX
from replywatch.digest.scope import scope_named, scopes
from replywatch.store.db import open_database

# The sample dealership's weeks end this Monday; two weeks back every lead is old enough for every rate.
THIS_MONDAY = now().date() - timedelta(days=now().weekday())
WEEK = THIS_MONDAY - timedelta(days=14)
PROBE = """<script>
window.addEventListener("load", function () {
  var img = document.querySelector("img");
  var size = img.complete ? img.naturalWidth + "x" + img.naturalHeight : "none";
  document.body.setAttribute("data-chart", size);
  document.body.setAttribute("data-scroll", document.documentElement.scrollWidth + "/" + window.innerWidth);
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
    assert f'data-chart="{WIDTH_PX}x{HEIGHT_PX}"' in dom.stdout, dom.stderr[-2000:]
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
    # And every digest's headline (this week is matured) is what an independent reading of the export gives
    for mail in received:
        zones = _scope_zones(mail.message["X-Replywatch-Digest"])
        want = expected(week_rows(rows, zones, WEEK), now())
        shown = sentences(mail.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert shown["7d"] == want["7d"] and want["leads"] == want["7d"][1] > 0
        assert close(shown["median_ttc_min"], want["median_ttc_min"])
        assert f"week of {WEEK.day} {WEEK.strftime('%b')}" in mail.message["Subject"]
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
    assert f"(pinned 2 weeks from {first.day} {first.strftime('%b')})" in html


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots are kept: $REPLYWATCH_TEST_ARTIFACTS/digest (CI uploads it), else
    test-artifacts/digest in the repository (ignored by git; pytest's temporary folders are pruned)."""
    folder = Path(os.environ.get("REPLYWATCH_TEST_ARTIFACTS") or REPO / "test-artifacts") / "digest"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


FRAME_PROBE = """<script>
window.addEventListener("load", function () {
  var size = document.documentElement.scrollWidth + "/" + window.innerWidth;
  parent.postMessage(size, "*");
});
</script>"""


def _framed(page: Path, width: int, out: Path) -> Path:
    """A page showing `page` in a frame exactly `width` px wide: headless Chromium's window is at least
    500 px, so a phone's 400 px viewport is the frame's. The frame reports its scroll width to the page."""
    out.write_text(
        '<!DOCTYPE html><html><body style="margin:0;">'
        f'<iframe src="{page.as_uri()}" width="{width}" height="3000" style="border:0;"></iframe>'
        "<script>window.addEventListener('message', function (e) {"
        "document.body.setAttribute('data-scroll', e.data); });</script></body></html>"
    )
    return out


@pytest.mark.parametrize("width", [400, 900])
def test_nothing_overflows_a_phone_or_a_desktop_window(
    site: Site, tmp_path: Path, artifacts: Path, width: int
) -> None:
    # Given the group's preview (the widest digest: stores, associates, sources, channels), with a long name
    out = tmp_path / "preview.html"
    assert site.run("digest", "preview", "--week", WEEK.isoformat(), "--out", str(out)).returncode == 0
    long_name = "Dealer Website (lead form, trade-in appraisal and finance pre-approval)"
    probe = tmp_path / "probe.html"
    probe.write_text(
        out.read_text().replace("AutoTrader", long_name).replace("</body>", FRAME_PROBE + "</body>")
    )
    page = _framed(probe, width, tmp_path / "framed.html")
    # When Chromium lays it out in a viewport of that width
    size = f"--window-size={max(width, 500)},3000"
    dom = _chromium(size, "--virtual-time-budget=5000", "--dump-dom", page.as_uri(), profile=tmp_path / "p1")
    # Then the page is exactly as wide as the viewport: nothing is cut off or scrolls sideways
    found = re.search(r'data-scroll="(\d+)/(\d+)"', dom.stdout)
    assert found, dom.stderr[-2000:]
    assert (int(found[1]), int(found[2])) == (width, width)
    # And a screenshot of the viewport is kept as an artifact, showing text and the chart's line
    shot = artifacts / f"digest-{width}px.png"
    _chromium(size, f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "p2")
    Image.open(shot).crop((0, 0, width, 3000)).save(shot)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[1] == width and (pixels.sum(axis=2) < 600).mean() > 0.01
    rgb = np.array([int(LINE[i : i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(pixels - rgb).sum(axis=2) < 40).sum() > 50


def _digest(site: Site, scope: str, at: datetime) -> Digest:
    settings = load_settings(site.config)
    _, sessions = open_database(settings.database.url)
    with sessions() as session:
        chosen = scope_named(scopes(session, settings), scope)
        return build_digest(
            session, chosen, THIS_MONDAY - timedelta(days=7), at, settings.digest.baseline_weeks
        )


@pytest.mark.parametrize("scope", ["group", "Main Street Honda"])
def test_report_and_digest_agree_figure_for_figure(site: Site, scope: str) -> None:
    # Given the digest of the week just ended, built at one moment
    at = now().replace(microsecond=0)
    digest = _digest(site, scope, at)
    assert digest.headline_week is not None and digest.trend
    week = digest.headline_week

    def report(by: str, first: str, last: str) -> list[dict[str, Any]]:
        args = ("--from", first, "--to", last, "--as-of", at.isoformat(), "--format", "json")
        result = site.run("report", "--by", by, "--store", scope, *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    headline_week = (week.isoformat(), (week + timedelta(days=7)).isoformat())
    # When `report` is asked for the same weeks as of the same moment
    # Then the trend, and each table of the headline week, are the report's rows, key for key
    trend = report("week", digest.trend[0].week.isoformat(), headline_week[1])
    assert trend == [p.figures.as_json() for p in digest.trend]
    tables = {"associate": digest.by_associate, "source": digest.by_source, "store": digest.by_store}
    for by, rows in tables.items():
        if by == "store" and scope != "group":
            continue
        got = report(by, *headline_week)
        assert sorted(got, key=lambda r: r["group"]) == sorted(
            (r.figures.as_json() for r in rows), key=lambda r: r["group"]
        )
        assert all(r["matured_7d"] and r["contact_rate_7d"] is not None for r in got)
    assert report("channel", *headline_week) == [f.as_json() for f in digest.by_channel]
    assert {r["group"] for r in report("channel", *headline_week)} == {"email", "sms", "call"}
    # And the headline itself is the one-week report's single row
    assert report("week", *headline_week) == [digest.headline.as_json()]  # type: ignore[union-attr]


def test_report_json_has_exactly_the_documented_keys(site: Site) -> None:
    result = site.run("report", "--by", "associate", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    keys = [
        "group", "leads", "contacted", "contact_rate", "contacted_7d", "contact_rate_7d", "matured_7d",
        "median_time_to_contact_s", "p90_time_to_contact_s", "median_time_to_contact_business_s", "opted_out",
    ]  # fmt: skip
    assert rows and all(list(r) == keys for r in rows)
    assert "(unassigned)" in {r["group"] for r in rows}
    # And the CSV has the same columns and rows
    as_csv = site.run("report", "--by", "associate", "--format", "csv")
    table = list(csv.DictReader(as_csv.stdout.splitlines()))
    assert list(table[0]) == keys and [r["group"] for r in table] == [r["group"] for r in rows]
    # And a bad option is one line
    bad = site.run("report", "--by", "colour")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --by must be one of week, store, associate, source, channel, not 'colour'"
    ]


def test_the_plain_text_stays_within_78_characters(site: Site) -> None:
    digest = _digest(site, "group", now())
    from replywatch.digest.render import render

    text = render(digest).text
    assert max(len(line) for line in text.splitlines()) <= 78
    assert text.lstrip().startswith("Contact digest:") and "Contact: " in text
