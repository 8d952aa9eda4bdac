"""Running the services at a simulated time."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from unittest import mock

from django.utils import timezone


@contextmanager
def clock(at: datetime):
    """Run services as if it were ``at``.

    The services stamp shipments, timeline rows (``recorded_at``) and their own
    events with the current time. Seeding two months of history in one go with
    the real clock would give every order a shipment dated today and timelines
    out of order, so the demo runs each step at its simulated time instead.
    """
    with mock.patch.object(timezone, "now", return_value=at):
        yield
