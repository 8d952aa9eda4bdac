"""The input of ``return_event_handle``: one event and its QC results."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class QcResult:
    unit: int
    passed: bool
    grade: str = ""
    disposition: str = ""
    notes: str = ""


@dataclass
class ReturnEventData:
    type: str
    location: str | None = None
    units: list[int] | None = None
    results: list[QcResult] = field(default_factory=list)
    amount: Decimal | None = None
    reason: str = ""
    event_id: str = ""
    method: str = ""
    # False: the caller writes the customer's one message itself (an SLA
    # breach explains what it did); the event's own email is not queued.
    email_customer: bool = True
    tracking_number: str = ""  # exchange_dispatched: the courier's AWB
