"""The Twilio listing's shortcut: pages kept as the API's JSON, the next page asked for while this one is
read, and Twilio's dates read by position. A speed trick in one module; its figures are in bench/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeAlias

from twilio.base.page import Page
from twilio.rest.api.v2010.account.call import CallList
from twilio.rest.api.v2010.account.message import MessageList

Listing: TypeAlias = MessageList | CallList


_RECORD_PAGES: dict[type[Page], type[Page]] = {}


def _record_page(kind: type[Page]) -> type[Page]:
    """The SDK's page class (MessagePage, CallPage) whose records stay the API's JSON objects: its
    instances (MessageInstance, CallInstance) would deserialize every property of every record."""
    found = _RECORD_PAGES.get(kind)
    if found is None:
        found = _RECORD_PAGES[kind] = type(f"Record{kind.__name__}", (kind,), {"get_instance": _as_is})
    return found


def _as_is(page: Page, payload: dict[str, Any]) -> Any:
    return payload


def pages(listing: Listing, page_size: int, query: Mapping[str, str]) -> Iterator[Page]:
    """The SDK's paging (its HTTP client, auth, retries, next-page links), each page's records as JSON.
    The next page is asked for while the caller reads this one: the API's time to answer is not waited
    for in turn with ours to read (one request at a time still, each after the link it follows)."""
    with ThreadPoolExecutor(1, thread_name_prefix="twilio-next-page") as ahead:
        page: Page | None = listing.page(page_size=page_size, **query)
        while page is not None:
            page.__class__ = _record_page(type(page))  # records are built lazily; next pages keep it
            following = ahead.submit(page.next_page)
            yield page
            page = following.result()


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: (number, f"{number:02d}") for number, name in enumerate(_MONTH_NAMES, 1)}


def instant(text: Any) -> tuple[datetime, str] | None:
    """A date as Twilio writes it (`Thu, 01 Oct 2026 13:00:00 +0000`), aware UTC, with its ISO form (what
    the payload keeps); None when absent."""
    if not text or not isinstance(text, str):
        return None
    # `Thu, 01 Oct 2026 13:00:00 +0000`: read by position rather than parsed (bench/README.md).
    month = _MONTHS.get(text[8:11])
    if month and len(text) == 31 and text.endswith(" +0000") and text[4] == " " and text[19] == ":":
        if text[22] == ":":
            # As the ISO form it names: fromisoformat takes ASCII digits only, read as int() reads them.
            iso = f"{text[12:16]}-{month[1]}-{text[5:7]}T{text[17:25]}+00:00"
            try:
                return datetime.fromisoformat(iso), iso
            except ValueError:
                pass
        try:
            hour, minute, second = int(text[17:19]), int(text[20:22]), int(text[23:25])
            when = datetime(int(text[12:16]), month[0], int(text[5:7]), hour, minute, second, tzinfo=UTC)
            return when, when.isoformat()
        except ValueError:
            pass
    try:
        when = parsedate_to_datetime(text).astimezone(UTC)
    except (TypeError, ValueError, IndexError):
        return None
    return when, when.isoformat()
