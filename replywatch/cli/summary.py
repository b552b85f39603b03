"""The contact summary table: per store and associate, leads, contacted, rate, median time-to-contact."""

from __future__ import annotations

from replywatch.cli.output import print_table
from replywatch.digest.present import duration
from replywatch.reports.summary import contact_summary
from replywatch.store import Session

_COLUMNS = ("Store", "Associate", "Leads", "Contacted", "Contact rate", "Median time-to-contact")


def print_summary(session: Session) -> None:
    rows = []
    for row in contact_summary(session):
        c = row.figures.counts
        rate = f"{c.contacted / c.leads:.0%}"
        rows.append(
            [row.store, row.associate, str(c.leads), str(c.contacted), rate, duration(row.figures.ttc.median)]
        )
    print_table("Contact by store and associate", _COLUMNS, rows, right=set(_COLUMNS[2:]))
