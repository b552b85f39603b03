"""The CLI's printing helpers: global options moved in front, tables by terminal width, local times."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from replywatch.cli.app import hoist_global_options
from replywatch.cli.output import local_time, print_table


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (["status", "--config", "x.toml"], ["--config", "x.toml", "status"]),
        (["status", "--config=x.toml", "--debug"], ["--config=x.toml", "--debug", "status"]),
        (
            ["review", "accept", "3", "-c", "x.toml", "--lead", "L1"],
            ["-c", "x.toml", "review", "accept", "3", "--lead", "L1"],
        ),
        (["--debug", "poll", "--once"], ["--debug", "poll", "--once"]),
        (["classify", "--", "--debug"], ["classify", "--", "--debug"]),
    ],
)
def test_global_options_move_in_front_of_the_subcommand(given: list[str], parsed: list[str]) -> None:
    assert hoist_global_options(given) == parsed


def _printed(width: int, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None, markup=False)
    rows = [["Lakeside / Toyota", "[/x] [link=http://evil.example]x", "12"]]
    print_table("Stores", ("Store", "Note", "Leads"), rows, right={"Leads"}, out=console)
    return out.getvalue()


def test_a_wide_terminal_gets_a_bordered_table_with_data_as_written() -> None:
    shown = _printed(120, terminal=True)
    assert "│" in shown and "Lakeside / Toyota" in shown and "[/x] [link=http://evil.example]x" in shown


@pytest.mark.parametrize(("width", "terminal"), [(80, True), (200, False)])
def test_narrow_or_piped_output_is_plain_aligned_lines(width: int, terminal: bool) -> None:
    assert _printed(width, terminal).splitlines() == [
        "Stores:",
        "Store              Note                              Leads",
        "Lakeside / Toyota  [/x] [link=http://evil.example]x     12",
    ]


def test_local_time_names_the_zone() -> None:
    chicago = ZoneInfo("America/Chicago")
    assert local_time("2026-11-30T20:05:00Z", chicago) == "2026-11-30 14:05 CST"
    assert local_time(datetime(2026, 7, 1, 12, tzinfo=UTC), chicago) == "2026-07-01 07:00 CDT"
    assert local_time(None, chicago) == ""


def test_daemon_text_logs_carry_the_store_time_with_its_offset_and_json_stays_utc() -> None:
    from replywatch.daemon.logs import JsonFormatter, TextFormatter

    record = logging.LogRecord("replywatch", logging.INFO, __file__, 1, "stored %s", ("human",), None)
    record.created = datetime(2026, 11, 30, 9, tzinfo=UTC).timestamp()
    record.lead = "AT-77"
    text = TextFormatter([], ZoneInfo("America/Chicago")).format(record)
    assert text == "2026-11-30T03:00:00-06:00 INFO    stored human  lead=AT-77"
    assert json.loads(JsonFormatter([]).format(record))["ts"] == "2026-11-30T09:00:00Z"
