"""The demo dealership's replywatch.toml: its stores, associates and the three sources it writes."""

from __future__ import annotations

import json

from replywatch.config import DAYS
from replywatch.demo.people import ASSOCIATES, STORES

_CONFIG_HEAD = """\
# Sample dealership written by `replywatch demo`. Paths are relative to this file.

[database]
url = "sqlite:///replywatch.db"
"""
_CONFIG_TAIL = """\
# The shared lead inbox: ADF leads and customers' mail in INBOX, our follow-ups in the .Sent folder.
[[sources]]
name = "lead-inbox"
type = "maildir"
path = "mail"

# The texting platform's message log.
[[sources]]
name = "texts"
type = "sms-csv"
path = "sms.csv"

# The phone system's call log (calls to the store's main line are forwarded to an associate's phone).
[[sources]]
name = "calls"
type = "calls-csv"
path = "calls.csv"

[digest]
send_at = "MON 07:00"
baseline_weeks = 2  # a short history: two weeks of baseline, the later weeks show the trend
"""


def config_text() -> str:
    """The config text; paths are relative to the file, so the sample folder can move."""
    q = json.dumps  # a JSON string of ASCII text is a valid TOML basic string
    blocks = [_CONFIG_HEAD]
    for s in STORES:
        hours = ", ".join(f"{day} = {q(text)}" for day, text in zip(DAYS, s.hours, strict=True))
        recipients = q([f"{r}@{s.domain}" for r in s.recipients])
        blocks.append(
            f'[[stores]]\nname = {q(s.name)}\ntimezone = {q(s.timezone)}\nregion = "US"\n'
            f"hours = {{ {hours} }}\ndigest_recipients = {recipients}\n"
        )
    blocks.append("# Mail and texts from these addresses and numbers are ours (outbound).")
    for a in ASSOCIATES:
        blocks.append(
            f"[[associates]]\nname = {q(a.name)}\nstore = {q(a.store.name)}\n"
            f"emails = {q([a.email])}\nphones = {q([a.phone])}\n"
        )
    return "\n".join([*blocks, _CONFIG_TAIL])
