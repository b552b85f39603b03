"""`classify PATH…`: the kind, rule and reply text of each mail in .eml files, folders, Maildirs, mboxes."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from replywatch.cli.context import console, runtime
from replywatch.errors import ReplywatchError

if TYPE_CHECKING:
    from replywatch.ingest.prepare import Verdict
    from replywatch.sources.base import Source

_PREVIEW_CHARS = 300


def register(app: typer.Typer) -> None:
    app.command("classify")(classify)


def classify(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help=".eml files, folders of them, Maildirs or mbox files."),
    format: str = typer.Option("text", "--format", help="text or json (one object per message)."),
    rules_dir: Path | None = typer.Option(
        None, "--rules", help="Rules folder (default: the configured one)."
    ),
) -> None:
    """Show how the rules classify each message: kind, deciding rule and reply text. Reads only."""
    from replywatch.classify.rules import load_rules
    from replywatch.ingest.prepare import verdict

    if format not in ("text", "json"):
        raise ReplywatchError(f"--format must be text or json, not {format!r}")
    rt = runtime(ctx)
    if not rt.debug:  # mail-parser warns of every part type it skips: a mailbox would drown the results
        logging.getLogger("mailparser").setLevel(logging.ERROR)
    rules = load_rules(rules_dir or rt.rules_dir())
    results = ((where, verdict(raw, rules)) for path in paths for where, raw in mail_files(path))
    if format == "json":
        _print_json(results)
    else:
        _print_text(results)


def mail_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of each mail under `path`: a Maildir, a folder of .eml, an mbox or one .eml file."""
    from replywatch.sources.local import EmlDirSource, MaildirSource, MboxSource

    source: Source
    if path.is_dir():
        maildir = (path / "cur").is_dir() or (path / "new").is_dir()
        source = MaildirSource("classify", path, []) if maildir else EmlDirSource("classify", path, [])
    elif path.is_file():
        if not _is_mbox(path):
            yield str(path), path.read_bytes()
            return
        source = MboxSource("classify", path)
    else:
        raise ReplywatchError(f"{path}: no such file or folder")
    for item in source.items({}):
        if isinstance(item.payload, bytes):
            yield item.position, item.payload


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def _row(where: str, found: Verdict) -> dict[str, str | None]:
    row: dict[str, str | None] = {"path": where, "kind": found.kind, "rule": found.rule}
    row["reply_text"] = found.reply_text
    if found.error is not None:
        row["error"] = found.error
    return row


def _print_json(results: Iterator[tuple[str, Verdict]]) -> None:
    """A JSON array written as it goes, one object per line: a big mailbox never sits in memory."""
    out = sys.stdout
    out.write("[")
    for count, (where, found) in enumerate(results):
        out.write(("," if count else "") + "\n" + json.dumps(_row(where, found), ensure_ascii=False))
    out.write("\n]\n")


def _print_text(results: Iterator[tuple[str, Verdict]]) -> None:
    kinds: Counter[str] = Counter()
    for where, found in results:
        kinds[found.kind] += 1
        detail = found.error if found.error is not None else " ".join(found.reply_text.split())
        if len(detail) > _PREVIEW_CHARS:
            detail = detail[:_PREVIEW_CHARS] + "…"
        rule = f" ({found.rule})" if found.rule else ""
        console.print(f"{where}\n  {found.kind}{rule}: {detail}", markup=False, highlight=False)
    summary = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    console.print(f"{sum(kinds.values())} messages" + (f": {summary}" if summary else ""), highlight=False)
