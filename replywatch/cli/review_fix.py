"""`review undo` and `review attach`: taking a decision back, and placing a reply that matched no lead."""

from __future__ import annotations

import typer

from replywatch.cli.context import runtime
from replywatch.cli.review import BY, decide, reviewer_name


def register(review_app: typer.Typer) -> None:
    review_app.command("undo")(review_undo)
    review_app.command("attach")(review_attach)


def review_undo(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., metavar="ID", help="The message's id (as `review list` shows it)."),
    by: str | None = BY,
) -> None:
    """Take back the message's latest decision: what it taught its lead goes, the message is decided again."""
    decide(runtime(ctx), reviewer_name(by), lambda r: r.undo(message_id))


def review_attach(
    ctx: typer.Context,
    message_id: int = typer.Argument(
        ..., metavar="MESSAGE_ID", help="The reply's id (from `messages list --unmatched`)."
    ),
    lead: str = typer.Option(..., "--lead", help="The lead id (as exported) the reply belongs to."),
    source: str | None = typer.Option(None, "--source", help="The lead's source, when its id is not unique."),
    by: str | None = BY,
) -> None:
    """Place a reply on a lead (one that matched none, or any other): the lead learns its address."""
    from replywatch.review.queue import load_item, resolve_lead

    rt = runtime(ctx)
    with rt.sessions() as session:
        chosen = resolve_lead(session, load_item(session, message_id), lead, source)
    decide(rt, reviewer_name(by), lambda r: r.attach(message_id, chosen))
