"""The digest's chart: the 7-day contact rate of the matured weeks (at most 12) against the baseline, a PNG
drawn with Agg and carried inside the mail (a related part; a data: URI in a preview file)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from replywatch.digest.build import TrendPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LINE = "#1f5fbf"
BASELINE = "#e07b00"
BAND = "#fbe3c4"
WIDTH_PX, HEIGHT_PX, DPI = 552, 240, 100  # the 600 px column less its padding


def rate_chart(trend: list[TrendPoint], baseline_rate: float | None, band: list[float]) -> bytes:
    """A PNG; a week without leads is a gap; the band spans the baseline weeks' lowest to highest rate."""
    # Imported here: matplotlib takes a second to load, and only a digest being drawn needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(fig)  # a canvas of our own: no pyplot, no global state, safe in a daemon thread
    ax = fig.add_subplot()
    xs = list(range(len(trend)))
    rates = [p.figures.contact_rate_7d for p in trend]
    if band:
        ax.axhspan(min(band), max(band), color=BAND, label="baseline weeks' range", zorder=0)
    if baseline_rate is not None:
        ax.axhline(baseline_rate, color=BASELINE, linestyle="--", linewidth=1.6, label="baseline", zorder=1)
    ax.plot(xs, [r if r is not None else float("nan") for r in rates], color=LINE, linewidth=2.2, zorder=2)
    ax.plot(
        xs, [r if r is not None else float("nan") for r in rates], "o", markersize=5, color=LINE, zorder=3
    )
    if baseline_rate is not None or band:
        ax.legend(loc="lower left", frameon=False, fontsize=7)
    _style(ax, [f"{p.week.day} {p.week.strftime('%b')}" for p in trend])
    fig.tight_layout(pad=0.6)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _style(ax: Axes, labels: list[str]) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1)
    ax.set_xlim(-0.5, max(len(labels), 1) - 0.5)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=45 if len(labels) > 8 else 0)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_ylabel("7-day contact rate", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
