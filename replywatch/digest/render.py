"""The digest as HTML for mail clients (one 600 px column, inline styles, all escaped) and as plain text of
at most 78 characters a line, with the same figures."""

from __future__ import annotations

import base64
import re
import textwrap
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from replywatch.config import Settings
from replywatch.digest.build import Digest, FunnelRow, Ranked, build_digest
from replywatch.digest.chart import HEIGHT_PX, WIDTH_PX, rate_chart
from replywatch.digest.present import (
    DASH,
    baseline_rate,
    channel_name,
    day,
    duration,
    forming,
    percent,
    ranked_change,
    rate_7d,
    rate_text,
    sentences,
    so_far_sentence,
)
from replywatch.digest.scope import Scope, scope_named, scopes
from replywatch.errors import ReplywatchError
from replywatch.private_files import private_open
from replywatch.reports.funnel import EVENTS
from replywatch.store import Session

CHART_CID = "contact-trend@replywatch"
TEXT_WIDTH = 78
TONES = {"better": "#1a7f37", "worse": "#c62828", "": "#555555"}
_ENV = Environment(
    loader=PackageLoader("replywatch.digest", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    chart_png: bytes


def render(digest: Digest, *, inline_chart: bool = False) -> Rendered:
    """Mail parts; with `inline_chart` the HTML carries the chart as a data: URI (a file to open)."""
    band = digest.baseline.weekly_rates if digest.baseline else []
    png = rate_chart(digest.trend, baseline_rate(digest), band)
    src = "data:image/png;base64," + base64.b64encode(png).decode() if inline_chart else f"cid:{CHART_CID}"
    context = _context(digest)
    html = _ENV.get_template("digest.html").render(context, chart_src=src, tones=TONES)
    text = _ENV.get_template("digest.txt").render(context)
    return Rendered(subject(digest), html, text, png)


def write_preview(
    session: Session, settings: Settings, week: date, out: Path, now: datetime, store: str | None = None
) -> Scope:
    """The digest of `store` (default: the group roll-up, or the only store) as an HTML file to open in a
    browser, chart included; nothing is sent."""
    scope = scope_named(scopes(session, settings), store)
    html = render(
        build_digest(session, scope, week, now, settings.digest.baseline_weeks), inline_chart=True
    ).html
    try:
        with private_open(out, "w", encoding="utf-8") as fh:
            fh.write(html)
    except OSError as exc:
        raise ReplywatchError(f"{out}: cannot write: {exc.strerror}") from None
    return scope


def subject(d: Digest) -> str:
    """ "Contact 62% (baseline 58%) · Main Street Honda · week of 16 Nov": the headline's own figure."""
    if d.headline is None or d.headline_week is None:
        text = f"Contact: no week 7 days old yet · {d.scope.title} · week of {day(d.week)}"
    else:
        rate = baseline_rate(d)
        base = f"baseline {percent(rate)}" if rate is not None else f"baseline {forming(d)}"
        text = f"Contact {percent(d.headline.contact_rate_7d)} ({base}) · {d.scope.title}"
        text += f" · week of {day(d.headline_week)}"
    return re.sub(r"\s+", " ", text)  # a name from the config must not break the header


def _context(d: Digest) -> dict[str, Any]:
    zones = {s.id: s.zone for s in d.scope.stores}
    return {
        "title": d.scope.title,
        "week": day(d.week),
        "subject": subject(d),
        "sentences": sentences(d),
        "so_far": so_far_sentence(d),
        "trend_title": f"7-day contact rate, last {len(d.trend)} matured weeks" if d.trend else "",
        "trend": [[day(p.week), rate_7d(p.figures)] for p in reversed(d.trend)],
        "chart_alt": "Chart: "
        + "; ".join(f"{day(p.week)} {percent(p.figures.contact_rate_7d)}" for p in d.trend),
        "headline_week": day(d.headline_week) if d.headline_week else "",
        "tables": _tables(d),
        "channels": [
            [channel_name(f.group), rate_text(f.contacted, f.leads), duration(f.median_ttc)]
            for f in d.by_channel
        ],
        "waiting_total": d.waiting.total,
        "waiting": [
            f"{_local(w.received_at, zones.get(w.store_id, d.scope.zone))} · {w.name} · {w.source} · "
            f"{w.associate} · lead {w.lead_id}"
            for w in d.waiting.first
        ],
        "unplaced_total": d.unplaced.total,
        "unplaced": [
            f"{_local(u.sent_at, d.scope.zone)} · {channel_name(u.channel)} from {u.sender}"
            for u in d.unplaced.first
        ],
        "detail": _detail_line(d),
        "funnel": [_funnel_cells(r) for r in d.funnel],
        "funnel_columns": ["Leads", "Contact", *(e.capitalize() for e in EVENTS)],
        "generated": d.now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def _tables(d: Digest) -> list[tuple[str, list[tuple[str, str, Any]]]]:
    tables = [("Stores", d.by_store), ("Associates", d.by_associate), ("By lead source", d.by_source)]
    return [(title, [_ranked_cells(r) for r in rows]) for title, rows in tables if rows]


def _ranked_cells(row: Ranked) -> tuple[str, str, Any]:
    return row.figures.group, rate_7d(row.figures), ranked_change(row)


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M").replace(" 0", " ")


def _detail_line(d: Digest) -> str:
    c = d.attention
    parts = []
    if c.awaiting_review:
        parts.append(
            f"{c.awaiting_review} of the week's leads have a reply awaiting review (replywatch review)"
        )
    if c.bouncing:
        parts.append(f"{c.bouncing} have an address that bounced")
    return ("Also: " + "; ".join(parts) + ".") if parts else ""


def _funnel_cells(row: FunnelRow) -> tuple[str, list[str]]:
    def share(n: int) -> str:
        return f"{n} ({n / row.leads:.0%})" if row.leads else str(n)

    return row.source, [str(row.leads), share(row.contacted), *(share(row.reached.get(e, 0)) for e in EVENTS)]


def text_table(header: list[str], rows: list[list[str]], width: int = TEXT_WIDTH) -> str:
    """Columns padded to their widest cell, two spaces apart; the first column is cut (with …) so that
    no line passes `width`."""
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    rest = sum(widths[1:]) + 2 * (len(widths) - 1)
    widths[0] = max(8, min(widths[0], width - rest))

    def fit(cell: str, w: int) -> str:
        return cell if len(cell) <= w else cell[: w - 1] + "…"

    return "\n".join(
        "  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table
    )


def wrap(text: str, indent: str = "") -> str:
    """Paragraphs (blank-line separated) refilled to the text width; long words are broken."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    return "\n\n".join(
        textwrap.fill(
            p, TEXT_WIDTH, initial_indent=indent, subsequent_indent=indent or "", break_on_hyphens=False
        )
        for p in paragraphs
        if p
    )


def _label_table(rows: list[tuple[str, list[str]]], header: list[str]) -> str:
    return text_table(header, [[label, *cells] for label, cells in rows])


def _ranked_table(rows: list[tuple[str, str, Any]], header: list[str]) -> str:
    return text_table(header, [[name, rate, change.text] for name, rate, change in rows])


_ENV.filters.update(
    text_table_with=lambda rows, header: text_table(header, rows),
    label_table_with=_label_table,
    ranked_table_with=_ranked_table,
    wrap=wrap,
    bullet=lambda text: wrap(text, "  ").replace("  ", "- ", 1),
)
_ENV.globals.update(DASH=DASH, chart_width=WIDTH_PX, chart_height=HEIGHT_PX)
