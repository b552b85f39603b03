"""How the commands print: stored data is never read as markup, and a table fits where it goes.

Names, subjects, reply texts and error messages come from customers and files we do not control: a
`[/x]` in them must print as written (not crash Rich's markup parser) and a `[link=…]` must stay text. So
both consoles have markup and highlighting off, and a table's cells are plain `Text`. A rich table needs
room: in a terminal at least WIDE columns wide it is drawn with its borders; narrower, or when the output
goes to a file or another program, each row is one plain line with the columns aligned by spaces, so no
word is ever cut or wrapped letter by letter."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, tzinfo

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from replywatch.domain.wording import counted
from replywatch.errors import ReplywatchError

__all__ = ["console", "counted", "err_console", "local_time", "parse_instant", "print_table", "table"]

WIDE = 100
GAP = "  "

# soft_wrap: long lines (paths, errors) stay whole when output goes to a file or another program.
console = Console(soft_wrap=True, markup=False, highlight=False)
err_console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def cell(value: object) -> str:
    """A table cell's text: nothing for None, else the value as text."""
    return "" if value is None else str(value)


def local_time(value: str | datetime | None, zone: tzinfo | None = None) -> str:
    """A time as people read it: in the store's zone (UTC when none is known), to the minute, with the
    zone's abbreviation: `2026-11-30 14:05 CST`. Nothing for None."""
    if value is None or value == "":
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone or UTC)
    return f"{at:%Y-%m-%d %H:%M} {at.tzname()}"


def parse_instant(text: str, option: str, zone: tzinfo) -> datetime:
    """A time option's value (`--as-of`, `--since`, `--changed-since`): ISO 8601, a time with no zone read
    in `zone`; aware UTC. A value that is no time is one line naming the option."""
    try:
        at = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise ReplywatchError(
            f"{option}: not an ISO 8601 time: {text!r} (e.g. 2026-12-07T14:03:11Z)"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def roomy(out: Console = console) -> bool:
    """A terminal wide enough for a bordered table."""
    return out.is_terminal and out.width >= WIDE


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    right: Collection[str] = (),
    out: Console = console,
) -> RenderableType:
    """The rows as a rich table when there is room, else as plain aligned lines (see the module)."""
    cells = [[str(cell) for cell in row] for row in rows]
    if roomy(out):
        return _rich_table(title, columns, cells, right)
    return Text(plain_table(title, columns, cells, right))


def print_table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    right: Collection[str] = (),
    out: Console = console,
) -> None:
    out.print(table(title, columns, rows, right, out))


def plain_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[str] = ()
) -> str:
    """Aligned lines: the title, the header, one line per row; a cell's line breaks become spaces and
    the last column is never padded."""
    flat = [[" ".join(cell.split()) for cell in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in flat)]) for i, name in enumerate(columns)]
    last = len(columns) - 1

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if columns[i] in right else cell if i == last else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return GAP.join(padded).rstrip()

    lines = ([f"{title}:"] if title else []) + [line(columns)] + [line(row) for row in flat]
    return "\n".join(lines)


def _rich_table(
    title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[str]
) -> Table:
    drawn = Table(title=title)
    for name in columns:
        drawn.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        drawn.add_row(*(Text(cell) for cell in row))
    return drawn
