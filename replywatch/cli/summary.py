"""The contact summary table: per store and associate, leads, contacted, rate, median time-to-contact."""

from __future__ import annotations

from rich.table import Table

from replywatch.cli.context import console
from replywatch.digest.present import duration
from replywatch.reports.summary import contact_summary
from replywatch.store import Session

_COLUMNS = ("Store", "Associate", "Leads", "Contacted", "Contact rate", "Median time-to-contact")


def print_summary(session: Session) -> None:
    table = Table(title="Contact by store and associate")
    for column in _COLUMNS:
        table.add_column(column, justify="right" if column not in ("Store", "Associate") else "left")
    for row in contact_summary(session):
        c = row.figures.counts
        table.add_row(
            row.store,
            row.associate,
            str(c.leads),
            str(c.contacted),
            f"{c.contacted / c.leads:.0%}",
            duration(row.figures.ttc.median),
        )
    console.print(table)
