"""How a review item looks in the terminal: the message, then its candidate leads ranked with reasons."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from replywatch.clock import iso_z
from replywatch.review.queue import ReviewItem

TEXT_LINES = 8
KEYS = (
    "[Enter] accept top · [1-9] accept that lead · [l] place on another lead (type its id) · "
    "[r] reject (not a lead reply) · [u] undo the last · [s] skip · [q] quit"
)
REASON_WORDS = {
    "thread": "answers our message",
    "reply_to_email": "Reply-To address",
    "from_email": "sender address",
    "recipient_email": "our mail went to its address",
    "loose_email": "address (dots/+tag aside)",
    "from_phone": "sender number",
    "recipient_phone": "our text went to its number",
    "text_phone": "its number in the text",
    "name": "same name",
    "name_nickname": "nickname",
    "name_fuzzy": "similar name",
    "name_initial": "initial and surname",
    "address_name": "name in the address",
    "address_initial": "initial and surname in the address",
    "first_name": "first name",
    "last_texted": "we last texted this lead there",
    "recent_touch": "we wrote to this lead lately",
    "associate": "written to its associate",
    "store": "its store",
    "vehicle": "names its car",
    "review": "chosen by a person",
    # Of one shopper's several open leads, what picked this one (match.score._answered).
    "chosen_by:thread": "of the shopper's leads: the one the thread answers",
    "chosen_by:associate": "of the shopper's leads: the one whose associate was written to",
    "chosen_by:store": "of the shopper's leads: the one of the store written to",
    "chosen_by:vehicle": "of the shopper's leads: the one whose car it names",
    "chosen_by:touched": "of the shopper's leads: the one we wrote to",
    "chosen_by:latest": "of the shopper's leads: the latest",
    "decided by a person": "decided by a person",
}


def describe(reasons: list[str]) -> str:
    return ", ".join(REASON_WORDS.get(r, r) for r in reasons)


def item_view(item: ReviewItem, position: int | None = None, total: int | None = None) -> Panel:
    """The message with its candidates, numbered as the keys pick them."""
    who = f"{item.sender_name} <{item.sender}>" if item.sender_name else item.sender
    head = Text()
    head.append(f"{item.channel.upper()} {item.direction}", style="bold")
    head.append(f"  {iso_z(item.at)}  from {who}")
    if item.subject:
        head.append(f"\nSubject: {item.subject}")
    lines = item.text.splitlines() or ["(no text)"]
    body = Text("\n".join(lines[:TEXT_LINES]) + ("\n…" if len(lines) > TEXT_LINES else ""), style="italic")
    title = f"review item {item.id}" + (f" ({position} of {total})" if position and total else "")
    return Panel(Group(head, Text(""), body, Text(""), candidates_table(item)), title=title, expand=True)


def candidates_table(item: ReviewItem) -> Table:
    table = Table(show_edge=False, expand=True, pad_edge=False)
    for column in ("#", "lead", "name", "source", "received", "score", "reasons"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for number, c in enumerate(item.candidates, 1):
        table.add_row(
            str(number),
            c.lead_id,
            c.name + (" ✓" if c.contacted else ""),
            c.source,
            iso_z(c.received_at)[:16].replace("T", " "),
            f"{c.score:.2f}",
            describe(c.reasons + ([f"chosen_by:{c.chosen_by}"] if c.chosen_by else [])),
        )
    if not item.candidates:
        table.add_row("", "(no candidate lead)", "", "", "", "", "")
    return table


def list_table(items: list[ReviewItem]) -> Table:
    table = Table(title=f"Review queue: {len(items)} item(s)")
    for column in ("id", "channel", "at", "sender", "text", "top lead", "score"):
        table.add_column(column, justify="right" if column in ("id", "score") else "left")
    for item in items:
        top = item.candidates[0] if item.candidates else None
        table.add_row(
            str(item.id),
            item.channel,
            iso_z(item.at),
            item.sender_name or item.sender,
            " ".join(item.text.split())[:50],
            f"{top.lead_id} {top.name}" if top else "",
            f"{top.score:.2f}" if top else "",
        )
    return table
