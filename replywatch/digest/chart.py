"""The digest's chart: 12 weeks of 7-day contact rate against the baseline, a PNG drawn with Agg."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from replywatch.digest.build import TrendPoint

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LINE = "#1f5fbf"
BASELINE = "#e07b00"
WIDTH_PX, HEIGHT_PX, DPI = 640, 260, 100


def rate_chart(trend: list[TrendPoint], baseline_rate: float | None) -> bytes:
    """A PNG; weeks without a lead 7 days old are gaps, a week not yet 7 days old a hollow point."""
    # Imported here: matplotlib takes a second to load, and only a digest being drawn needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(fig)  # a canvas of our own: no pyplot, no global state, safe in a daemon thread
    ax = fig.add_subplot()
    xs = list(range(len(trend)))
    rates = [_rate(p) for p in trend]
    ax.plot(xs, [r if r is not None else float("nan") for r in rates], color=LINE, linewidth=2.2)
    for x, point, rate in zip(xs, trend, rates, strict=True):
        if rate is not None:
            partial = point.figures.eligible_7d < point.figures.leads
            ax.plot(x, rate, "o", markersize=6, color=LINE, markerfacecolor="white" if partial else LINE)
    if baseline_rate is not None:
        ax.axhline(baseline_rate, color=BASELINE, linestyle="--", linewidth=1.6, label="baseline")
        ax.legend(loc="lower left", frameon=False, fontsize=8)
    _style(ax, [p.week.strftime("%d %b") for p in trend])
    fig.tight_layout(pad=0.6)
    out = io.BytesIO()
    fig.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _rate(point: TrendPoint) -> float | None:
    f = point.figures
    return f.contacted_7d / f.eligible_7d if f.eligible_7d else None


def _style(ax: Axes, labels: list[str]) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=0)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_ylabel("7-day contact rate", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
