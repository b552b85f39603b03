"""Benchmark: peak memory of reading one huge mail from a Maildir, cut to IMAP's parts or read whole.

    .venv/bin/python bench/local_mail_memory.py [--megabytes 135]

Builds one reply with a text body and a photo attachment of the given size in a temporary Maildir, then
in two fresh processes reads it through the Maildir source and parses it as the pipeline does: once as
shipped (the mail cut to what IMAP would fetch: sources/mime_trim.py), once whole. Prints each process's
peak RSS and their ratio side by side. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(root: Path, megabytes: int) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "ana@example.com", "d@x", "Re: car", "<b@x>"
    msg.set_content("Saturday works.\n" * 1000)
    msg.add_attachment(
        os.urandom(megabytes * 1024 * 1024), maintype="image", subtype="jpeg", filename="car.jpg"
    )
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "cur" / "1.big:2,S").write_bytes(msg.as_bytes())


def child(root: str, whole: bool) -> None:
    from replywatch.ingest.prepare import read_email
    from replywatch.sources import mime_trim
    from replywatch.sources.local import MaildirSource

    if whole:
        mime_trim.LOCAL_TEXT_PART_CAP = 1 << 40  # never cut: the mail is parsed whole
        import replywatch.sources.files as files

        files.LOCAL_TEXT_PART_CAP = mime_trim.LOCAL_TEXT_PART_CAP
    for item in MaildirSource("bench", Path(root), []).items({}):
        assert isinstance(item.payload, bytes)
        read_email(item.payload)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=135)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.whole)
        return
    if args.build:
        build(Path(args.build), args.megabytes)
        return
    with tempfile.TemporaryDirectory() as tmp:
        # Built in a process of its own: a child's peak RSS starts from its parent's at fork (Linux).
        subprocess.run(
            [sys.executable, __file__, "--build", tmp, "--megabytes", str(args.megabytes)], check=True
        )
        peaks = {}
        for label, extra in (("cut to IMAP's parts", []), ("read whole", ["--whole"])):
            out = subprocess.run(
                [sys.executable, __file__, "--child", tmp, *extra], capture_output=True, text=True, check=True
            )
            peaks[label] = int(out.stdout.split()[-1])
        cut, whole = peaks.values()
        print(f"one {args.megabytes} MB mail from a Maildir, peak RSS:")
        for label, peak in peaks.items():
            print(f"  {label:22} {peak:6d} MB")
        print(f"  ratio whole / cut      {whole / cut:6.1f}")


if __name__ == "__main__":
    main()
