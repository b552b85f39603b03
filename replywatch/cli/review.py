"""`replywatch review`: the interactive queue (one keystroke per decision) and its scriptable commands."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import Runtime, console, runtime
from replywatch.cli.review_keys import keyboard, read_line
from replywatch.clock import now
from replywatch.domain.vocabulary import MatchStatus
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    from replywatch.review.decisions import Decided, Reviewer
    from replywatch.review.queue import ReviewItem
    from replywatch.store import Session

# The queue's modules (matching, the SQL of review items, the screen) are imported by the commands.

review_app = typer.Typer(
    help="The review queue: messages replywatch could not link to a lead on its own.",
    invoke_without_command=True,
)
BY = typer.Option(None, "--by", help="Who decides (default $REPLYWATCH_REVIEWER, else your login name).")


def register(app: typer.Typer) -> None:
    from replywatch.cli import review_fix

    review_fix.register(review_app)
    app.add_typer(review_app, name="review")


@review_app.callback()
def review_queue(
    ctx: typer.Context,
    by: str | None = BY,
    unmatched: bool = typer.Option(
        False, "--unmatched", help="Work the replies that matched no lead instead (l places one)."
    ),
) -> None:
    """Work the queue: each message with its candidate leads; one key decides and shows the next."""
    if ctx.invoked_subcommand is not None:
        return
    rt = runtime(ctx)
    pending = _pending(rt, unmatched)
    if not pending:
        console.print("No reply matched no lead." if unmatched else "The review queue is empty.")
        return
    tally = {"accept": 0, "reject": 0, "skip": 0}
    with keyboard() as read_key:
        _work(rt, pending, reviewer_name(by), read_key, tally, unmatched)
    with rt.sessions() as session:
        left = len(_pending_ids(session, unmatched))
    done = f"accepted {tally['accept']}, rejected {tally['reject']}, skipped {tally['skip']}"
    console.print(f"{done}; {left} left in the {'unmatched replies' if unmatched else 'queue'}")


def _pending(rt: Runtime, unmatched: bool) -> list[int]:
    with rt.sessions() as session:
        return _pending_ids(session, unmatched)


def _pending_ids(session: Session, unmatched: bool) -> list[int]:
    if unmatched:
        from replywatch.reports.unmatched import unmatched_replies

        return [r.message_id for r in unmatched_replies(session)]
    from replywatch.review.queue import queue_ids

    return queue_ids(session)


def _work(
    rt: Runtime,
    pending: list[int],
    who: str,
    read_key: Callable[[], str],
    tally: dict[str, int],
    unmatched: bool,
) -> None:
    """One item after another; `u` takes back the last decision of this session and shows its item again."""
    done: list[tuple[int, str]] = []  # (message, outcome) decided in this session, latest last
    status = MatchStatus.UNMATCHED if unmatched else MatchStatus.REVIEW
    index = 0
    while index < len(pending):
        try:
            outcome = _one_item(rt, pending[index], (index + 1, len(pending)), who, read_key, status)
        except KeyboardInterrupt:
            outcome = "quit"
        if outcome == "quit":
            return
        if outcome == "undo":
            if not done:
                console.print("nothing to undo yet", style="yellow")
                continue
            index = pending.index(_take_back(rt, who, done, tally))
            continue
        tally[outcome] += 1
        if outcome != "skip":
            done.append((pending[index], outcome))
        index += 1


def _take_back(rt: Runtime, who: str, done: list[tuple[int, str]], tally: dict[str, int]) -> int:
    """Undo the session's last decision; its message, to show again."""
    message_id, outcome = done.pop()
    decide(rt, who, lambda r: r.undo(message_id))
    tally[outcome] -= 1
    return message_id


def _one_item(
    rt: Runtime,
    message_id: int,
    place: tuple[int, int],
    who: str,
    read_key: Callable[[], str],
    status: str = MatchStatus.REVIEW,
) -> str:
    """Show the item and act on one key: accept, reject, skip, undo or quit."""
    from replywatch.cli.review_screen import KEYS, item_view
    from replywatch.review.decisions import Reviewer
    from replywatch.review.queue import load_item

    with rt.sessions() as session:
        item = load_item(session, message_id)
    if item.status != status:
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
        if key == "u":
            return "undo"
        if key in ("r", "n"):
            if not _confirmed(
                f"Reject message {message_id}: a reply to none of these leads? [y/N]", read_key
            ):
                continue
            decide(rt, who, lambda r: r.reject(message_id))
            return "reject"
        if key == "l":
            chosen = _lead_typed(rt, item, read_key)
            if chosen is None:
                continue
            decide(rt, who, partial(Reviewer.attach, message_id=message_id, lead_id=chosen))
            return "accept"
        if key in ENTER_KEYS and item.tie:
            console.print(
                f"leads {item.candidates[0].lead_id} and {item.candidates[1].lead_id} tie: "
                f"press the number of the one it answers (1-{len(item.candidates)})",
                style="yellow",
                highlight=False,
            )
            continue
        choice = _choice(item, key)
        if choice is not None:
            decide(rt, who, partial(Reviewer.accept, message_id=message_id, lead_id=choice))
            return "accept"
        console.print(KEYS, style="yellow", markup=False, highlight=False)


def _confirmed(question: str, read_key: Callable[[], str]) -> bool:
    """A rejection is not undone by a key typed too fast: it asks first, and only "y" says yes."""
    console.print(question, style="yellow")
    if read_key() in ("y", "Y"):
        return True
    console.print("not rejected", style="dim")
    return False


ENTER_KEYS = ("\r", "\n", "a", "y")


def _choice(item: ReviewItem, key: str) -> int | None:
    if key in ENTER_KEYS and item.candidates:
        return item.candidates[0].id
    if key.isdigit() and 1 <= int(key) <= len(item.candidates):
        return item.candidates[int(key) - 1].id
    return None


def _lead_typed(rt: Runtime, item: ReviewItem, read_key: Callable[[], str]) -> int | None:
    """A lead id typed by the reviewer (Enter ends it, Escape gives up); None when it names no lead."""
    from replywatch.review.queue import resolve_lead

    typed = read_line("lead id (as exported), Enter to place, Esc to go back: ", read_key)
    if not typed:
        return None
    try:
        with rt.sessions() as session:
            return resolve_lead(session, item, typed, None)
    except ReplywatchError as exc:
        console.print(str(exc), style="yellow", highlight=False)
        return None


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


def decide(rt: Runtime, who: str, act: Callable[[Reviewer], Decided]) -> None:
    with _reviewer(rt, who) as reviewer:
        decided = act(reviewer)
    console.print(_said(decided))


def _said(decided: Decided) -> str:
    unlearned = f"; unlearned {', '.join(decided.unlearned)}" if decided.unlearned else ""
    if decided.action == "undo":
        waiting = {
            MatchStatus.REVIEW.value: "waiting for review",
            MatchStatus.UNMATCHED.value: "matching no lead",
        }
        placed = f"lead {decided.lead.external_id}" if decided.lead else decided.status
        where = waiting.get(decided.status, placed)
        return f"↶ message {decided.message_id}: decision taken back, now {where}{unlearned}"
    if decided.lead is None:
        return f"✗ message {decided.message_id} rejected: not a reply to any lead{unlearned}"
    lead = decided.lead
    learned = f"; learned {', '.join(decided.learned)}" if decided.learned else ""
    name = lead.full_name or "no name"
    return f"✓ message {decided.message_id} → lead {lead.external_id} ({name}){learned}{unlearned}"


def reviewer_name(by: str | None) -> str:
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
    by: str | None = BY,
) -> None:
    """Link the message to its top candidate lead, or to --lead; contact is recomputed."""
    from replywatch.review.queue import load_item, resolve_lead

    rt = runtime(ctx)
    chosen = None
    with rt.sessions() as session:
        item = load_item(session, message_id)
        if lead is not None:
            chosen = resolve_lead(session, item, lead, source)
    if chosen is None and item.tie:
        first, second = item.candidates[0].lead_id, item.candidates[1].lead_id
        raise ReplywatchError(f"message {message_id}: leads {first} and {second} tie; name one with --lead")
    decide(rt, reviewer_name(by), lambda r: r.accept(message_id, chosen))


@review_app.command("reject")
def review_reject(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., metavar="ID", help="The item's id (from `review list`)."),
    by: str | None = BY,
) -> None:
    """Not a reply to any lead: kept, but it counts for no lead and never comes back."""
    rt = runtime(ctx)
    decide(rt, reviewer_name(by), lambda r: r.reject(message_id))
