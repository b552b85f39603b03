"""`replywatch review`: the interactive queue (one keystroke per decision) and its scriptable commands."""

from __future__ import annotations

import getpass
import json
import os
import select
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import Runtime, console, runtime
from replywatch.clock import now
from replywatch.domain.vocabulary import MatchStatus
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    from replywatch.review.decisions import Decided, Reviewer
    from replywatch.review.queue import ReviewItem

# The queue's modules (matching, the SQL of review items, the screen) are imported by the commands.

review_app = typer.Typer(
    help="The review queue: messages replywatch could not link to a lead on its own.",
    invoke_without_command=True,
)
_BY = typer.Option(None, "--by", help="Who decides (default $REPLYWATCH_REVIEWER, else your login name).")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


@review_app.callback()
def review_queue(ctx: typer.Context, by: str | None = _BY) -> None:
    """Work the queue: each message with its candidate leads; one key decides and shows the next."""
    if ctx.invoked_subcommand is not None:
        return
    from replywatch.review.queue import queue_ids

    rt = runtime(ctx)
    with rt.sessions() as session:
        pending = queue_ids(session)
    if not pending:
        console.print("The review queue is empty.")
        return
    tally = {"accept": 0, "reject": 0, "skip": 0}
    with _keyboard() as read_key:
        for position, message_id in enumerate(pending, 1):
            try:
                outcome = _one_item(rt, message_id, (position, len(pending)), _reviewer_name(by), read_key)
            except KeyboardInterrupt:
                outcome = "quit"
            if outcome == "quit":
                break
            tally[outcome] += 1
    with rt.sessions() as session:
        left = len(queue_ids(session))
    done = f"accepted {tally['accept']}, rejected {tally['reject']}, skipped {tally['skip']}"
    console.print(f"{done}; {left} left in the queue")


def _one_item(
    rt: Runtime, message_id: int, place: tuple[int, int], who: str, read_key: Callable[[], str]
) -> str:
    """Show the item and act on one key: accept, reject, skip or quit."""
    from replywatch.cli.review_screen import KEYS, item_view
    from replywatch.review.decisions import Reviewer
    from replywatch.review.queue import load_item

    with rt.sessions() as session:
        item = load_item(session, message_id)
    if item.status != MatchStatus.REVIEW:
        return "skip"  # decided meanwhile (another reviewer, or a decision that taught its lead)
    console.print(item_view(item, rt.zone(), *place))
    console.print(KEYS, style="dim", markup=False, highlight=False)
    while True:
        key = read_key()
        if key in ("q", "\x1b"):
            return "quit"
        if key in ("s", " "):
            console.print("skipped", style="dim")
            return "skip"
        if key in ("r", "n"):
            if not _confirmed(
                f"Reject message {message_id}: a reply to none of these leads? [y/N]", read_key
            ):
                continue
            _decide(rt, who, lambda r: r.reject(message_id))
            return "reject"
        choice = _choice(item, key)
        if choice is not None:
            _decide(rt, who, partial(Reviewer.accept, message_id=message_id, lead_id=choice))
            return "accept"
        console.print(KEYS, style="yellow", markup=False, highlight=False)


def _confirmed(question: str, read_key: Callable[[], str]) -> bool:
    """A rejection is not undone by a key typed too fast: it asks first, and only "y" says yes."""
    console.print(question, style="yellow")
    if read_key() in ("y", "Y"):
        return True
    console.print("not rejected", style="dim")
    return False


def _choice(item: ReviewItem, key: str) -> int | None:
    if key in ("\r", "\n", "a", "y") and item.candidates:
        return item.candidates[0].id
    if key.isdigit() and 1 <= int(key) <= len(item.candidates):
        return item.candidates[int(key) - 1].id
    return None


@contextmanager
def _keyboard() -> Iterator[Callable[[], str]]:
    """Single keys from the terminal, unbuffered and unechoed for the whole session, so a key typed
    while the next item is being drawn is not lost."""
    if not sys.stdin.isatty():
        raise ReplywatchError(
            "the interactive queue needs a terminal; use `replywatch review list` and `review accept ID`"
        )
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield lambda: _read_key(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(fd: int) -> str:
    first = os.read(fd, 1)
    if not first or first == b"\x04":
        return "q"
    if first == b"\x1b":  # Escape alone quits; an arrow key's sequence is read and ignored
        while select.select([fd], [], [], 0.05)[0]:
            os.read(fd, 16)
            first = b""
        return "\x1b" if first else ""
    data = first
    while data[0] >= 0xC0 and len(data) < 4 and select.select([fd], [], [], 0.05)[0]:
        data += os.read(fd, 1)  # the rest of a UTF-8 character
    return data.decode("utf-8", "replace")


@contextmanager
def _reviewer(rt: Runtime, who: str) -> Iterator[Reviewer]:
    from replywatch.match.link import Matching
    from replywatch.review.decisions import Reviewer
    from replywatch.store.db import batch_transaction

    # A decision re-matches and recomputes contact: in turn with the daemons' batches, like one of them.
    directory, policy = rt.directory(), rt.rules().policy
    with batch_transaction(rt.sessions) as session:
        matching = Matching(policy, rt.settings.matching.lead_open_days, directory, now())
        yield Reviewer(session, directory, matching, who)


def _decide(rt: Runtime, who: str, act: Callable[[Reviewer], Decided]) -> None:
    with _reviewer(rt, who) as reviewer:
        decided = act(reviewer)
    console.print(_said(decided))


def _said(decided: Decided) -> str:
    if decided.lead is None:
        return f"✗ message {decided.message_id} rejected: not a reply to any lead"
    lead = decided.lead
    learned = f"; learned {', '.join(decided.learned)}" if decided.learned else ""
    return (
        f"✓ message {decided.message_id} → lead {lead.external_id} ({lead.full_name or 'no name'}){learned}"
    )


def _reviewer_name(by: str | None) -> str:
    return by or os.environ.get("REPLYWATCH_REVIEWER") or getpass.getuser()


@review_app.command("list")
def review_list(
    ctx: typer.Context, format: str = typer.Option("table", "--format", help="table or json.")
) -> None:
    """The items waiting for review, oldest first, each with its top candidate."""
    from replywatch.cli.review_screen import list_table
    from replywatch.review.queue import load_items, queue_ids

    rt = runtime(ctx)
    with rt.sessions() as session:
        items = load_items(session, queue_ids(session))
    if format == "json":
        print(json.dumps([i.to_json() for i in items], indent=2, ensure_ascii=False))
    elif format == "table":
        console.print(list_table(items, rt.zone()))
    else:
        raise ReplywatchError(f"--format must be table or json, not {format!r}")


@review_app.command("show")
def review_show(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., metavar="ID", help="The item's id (from `review list`)."),
    format: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """One message with its ranked candidate leads, their scores and reasons."""
    from replywatch.cli.review_screen import item_view
    from replywatch.review.queue import load_item

    rt = runtime(ctx)
    with rt.sessions() as session:
        item = load_item(session, message_id)
    if format == "json":
        print(json.dumps(item.to_json(), indent=2, ensure_ascii=False))
    else:
        console.print(item_view(item, rt.zone()))


@review_app.command("accept")
def review_accept(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., metavar="ID", help="The item's id (from `review list`)."),
    lead: str | None = typer.Option(None, "--lead", help="The lead id (as exported); default the top one."),
    source: str | None = typer.Option(None, "--source", help="The lead's source, when its id is not unique."),
    by: str | None = _BY,
) -> None:
    """Link the message to its top candidate lead, or to --lead; contact is recomputed."""
    from replywatch.review.queue import load_item, resolve_lead

    rt = runtime(ctx)
    chosen = None
    if lead is not None:
        with rt.sessions() as session:
            chosen = resolve_lead(session, load_item(session, message_id), lead, source)
    _decide(rt, _reviewer_name(by), lambda r: r.accept(message_id, chosen))


@review_app.command("reject")
def review_reject(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., metavar="ID", help="The item's id (from `review list`)."),
    by: str | None = _BY,
) -> None:
    """Not a reply to any lead: kept, but it counts for no lead and never comes back."""
    rt = runtime(ctx)
    _decide(rt, _reviewer_name(by), lambda r: r.reject(message_id))
