"""The bar `poll --once` shows on a terminal; its own module so that other commands never import it."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from replywatch.cli.context import console


class _RateColumn(ProgressColumn):
    """Messages per second, the figure a backfill is judged by."""

    def render(self, task: Task) -> Text:
        rate = task.completed / task.elapsed if task.elapsed and task.completed else 0.0
        return Text(f"{rate:,.0f} messages/s", style="progress.data.speed")


def progress_bar() -> Progress:
    """Spinner, what is being read, bar, count, rate and ETA; gone when done."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, transient=True)
