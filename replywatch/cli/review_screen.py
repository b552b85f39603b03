"""How a review item looks in the terminal: the message, then its candidate leads ranked with reasons."""

from __future__ import annotations

from datetime import tzinfo

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from replywatch.cli.output import local_time, roomy, table
from replywatch.review.queue import ReviewItem

TEXT_LINES = 8
KEYS = (
    "[Enter] accept top · [1-9] accept that lead · [l] place on another lead (type its id) · "
    "[r] reject (asks first) · [u] undo the last · [s] skip · [q] quit"
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


def item_view(
    item: ReviewItem, zone: tzinfo, position: int | None = None, total: int | None = None
) -> RenderableType:
    """The message with its candidates, numbered as the keys pick them; in a panel when the terminal
    has room, else as plain lines (the sender and every candidate whole at 80 columns)."""
    who = f"{item.sender_name} <{item.sender}>" if item.sender_name else item.sender
    head = Text()
    head.append(f"{item.channel.upper()} {item.direction}", style="bold")
    head.append(f"  {local_time(item.at, zone)}  from {who}")
    if item.subject:
        head.append(f"\nSubject: {item.subject}")
    lines = item.text.splitlines() or ["(no text)"]
    body = Text("\n".join(lines[:TEXT_LINES]) + ("\n…" if len(lines) > TEXT_LINES else ""), style="italic")
    title = f"review item {item.id}" + (f" ({position} of {total})" if position and total else "")
    candidates = candidates_table(item, zone)
    if not roomy():
        return Group(Text(title, style="bold"), head, Text(""), body, Text(""), candidates)
    return Panel(Group(head, Text(""), body, Text(""), candidates), title=Text(title), expand=True)


def candidates_table(item: ReviewItem, zone: tzinfo) -> Text:
    """Each candidate as a short block that fits 80 columns: number, lead, name, score; then who and what
    tells leads apart (associate, vehicle, email, phone); then the reasons in words."""
    if not item.candidates:
        return Text("(no candidate lead)")
    blocks = Text()
    for number, c in enumerate(item.candidates, 1):
        done = " ✓ contacted" if c.contacted else ""
        blocks.append(f"{number:>2}  {c.lead_id}  {c.name or '(no name)'}{done}", style="bold")
        blocks.append(f"  score {c.score:.2f}\n")
        blocks.append(f"    {c.source}, received {local_time(c.received_at, zone)}\n")
        facts = [c.associate or "no associate", c.vehicle or "no vehicle", *c.contacts]
        blocks.append("    " + " · ".join(facts) + "\n")
        reasons = c.reasons + ([f"chosen_by:{c.chosen_by}"] if c.chosen_by else [])
        blocks.append(f"    {describe(reasons)}\n", style="dim")
    blocks.rstrip()
    return blocks


_LIST_COLUMNS = ("id", "channel", "at", "sender", "text", "top lead", "score")


def list_table(items: list[ReviewItem], zone: tzinfo) -> RenderableType:
    rows = []
    for item in items:
        top = item.candidates[0] if item.candidates else None
        rows.append(
            [
                str(item.id),
                item.channel,
                local_time(item.at, zone),
                item.sender_name or item.sender,
                _clip(" ".join(item.text.split()), 50),
                f"{top.lead_id} {top.name}" if top else "",
                f"{top.score:.2f}" if top else "",
            ]
        )
    return table(f"Review queue: {len(items)} item(s)", _LIST_COLUMNS, rows, right={"id", "score"})


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
