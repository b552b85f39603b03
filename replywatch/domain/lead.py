"""A lead as matching and the store exchange it: a plain record, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LeadRef:
    """A lead as matching sees it: when it was received, where, by whom, the customer's name, the car."""

    lead_id: int
    received_at: datetime
    store_id: int | None
    associate_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    vehicle: str | None = None
    first_touch_at: datetime | None = None
