"""The digest as HTML for mail clients (tables, inline CSS, all escaped) and as plain text, same figures."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from replywatch.config import Settings
from replywatch.digest.build import Digest, FunnelRow, Row, TrendPoint, build_digest
from replywatch.digest.chart import HEIGHT_PX, WIDTH_PX, rate_chart
from replywatch.digest.present import (
    BREAKDOWN,
    DASH,
    HEADLINE,
    breakdown_cells,
    duration,
    headline,
    percent,
    rate_text,
)
from replywatch.digest.scope import Scope, scope_named, scopes
from replywatch.errors import ReplywatchError
from replywatch.private_files import private_open
from replywatch.reports.funnel import EVENTS
from replywatch.store import Session

CHART_CID = "contact-trend@replywatch"
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
    baseline_rate = HEADLINE[1].value(digest.baseline) if digest.baseline else None
    png = rate_chart(digest.trend, baseline_rate)
    src = "data:image/png;base64," + base64.b64encode(png).decode() if inline_chart else f"cid:{CHART_CID}"
    context = _context(digest)
    html = _ENV.get_template("digest.html").render(context, chart_src=src, tones=TONES)
    text = _ENV.get_template("digest.txt").render(context)
    return Rendered(_subject(digest), html, text, png)


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


def _subject(digest: Digest) -> str:
    c = digest.this.counts
    rate = percent(c.contacted / c.leads if c.leads else None)
    subject = f"Contact digest: {digest.scope.title}, week of {_day(digest.week)}: "
    subject += f"{c.leads} leads, {rate} contacted"
    return re.sub(r"\s+", " ", subject)  # a name from the config must not break the header


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


def _context(d: Digest) -> dict[str, Any]:
    lines = headline(d.this, d.last, d.baseline)
    return {
        "title": d.scope.title,
        "week": _day(d.week),
        "period": f"Monday {_day(d.week)} to Sunday {_day(d.week + timedelta(days=6))}",
        "baseline_text": _baseline_text(d),
        "lines": lines,
        "headline_rows": [
            [x.label, x.this, x.last, x.vs_last.text, x.baseline, x.vs_baseline.text] for x in lines
        ],
        "partial": d.this.counts.eligible_7d < d.this.counts.leads,
        "trend": [
            [
                _day(p.week),
                str(p.figures.leads),
                rate_text(p.figures.contacted_7d, p.figures.eligible_7d),
                duration(p.figures.ttc_median),
            ]
            for p in reversed(_since_first_lead(d.trend))
        ],
        "columns": [name for name, _ in BREAKDOWN],
        "tables": _tables(d),
        "funnel": [_funnel_cells(r) for r in d.funnel],
        "funnel_columns": ["Leads", "Contact", *(e.capitalize() for e in EVENTS)],
        "generated": d.now.strftime("%Y-%m-%d %H:%M UTC"),
    }


def _since_first_lead(trend: list[TrendPoint]) -> list[TrendPoint]:
    """The trend table starts at the first week with leads (the chart keeps all 12 weeks)."""
    first = next((i for i, p in enumerate(trend) if p.figures.leads), len(trend) - 1)
    return trend[first:]


def _baseline_text(d: Digest) -> str:
    rng = d.baseline_range
    if rng is None:
        return "No baseline yet: it forms from the first complete weeks with data."
    how = "pinned" if rng.pinned else "the first complete weeks with data"
    weeks = f"{rng.weeks} week" + ("s" if rng.weeks != 1 else "")
    return f"Baseline: weeks of {_day(rng.first_week)} to {_day(rng.last_week)} ({weeks}, {how})."


def _tables(d: Digest) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    tables = [("By store", d.by_store), ("By associate", d.by_associate), ("By lead source", d.by_source)]
    return [(title, [_row(r) for r in rows]) for title, rows in tables if rows]


def _row(row: Row) -> tuple[str, list[str]]:
    return row.label, breakdown_cells(row.figures)


def _funnel_cells(row: FunnelRow) -> tuple[str, list[str]]:
    def share(n: int) -> str:
        return f"{n} ({n / row.leads:.0%})" if row.leads else str(n)

    return row.source, [str(row.leads), share(row.contacted), *(share(row.reached.get(e, 0)) for e in EVENTS)]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart: readable in any mail client's plain view."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def _label_table(rows: list[tuple[str, list[str]]], header: list[str]) -> str:
    return text_table(header, [[label, *cells] for label, cells in rows])


_ENV.filters["text_table_with"] = lambda rows, header: text_table(header, rows)
_ENV.filters["label_table_with"] = _label_table
_ENV.globals.update(DASH=DASH, chart_width=WIDTH_PX, chart_height=HEIGHT_PX)
