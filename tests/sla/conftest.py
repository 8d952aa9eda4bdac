"""A controlled clock for SLA tests: ``clock.set(dt)`` moves django's
``timezone.now`` for every module that calls it."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from returns.models import ReturnPolicy

IST = ZoneInfo("Asia/Kolkata")


class Clock:
    def __init__(self, monkeypatch):
        self.now = datetime(2026, 11, 23, 11, 0, tzinfo=IST)  # a Monday, 11:00 IST
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, dt: datetime) -> None:
        self.now = dt


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def policy(db):
    """A policy version with known SLA hours and limits (versions are never edited)."""

    def make(**overrides) -> ReturnPolicy:
        fields = {
            "sla_hours": {"pickup": 48, "qc": 24, "exchange_dispatch": 24, "refund": 12},
            "keep_it_max_value": Decimal("0"),
            "instant_refund_max": Decimal("0"),
            "max_pickup_attempts": 2,
            "risk_threshold": 50,
            "exchange_dispatch_before_receipt": False,
        }
        fields.update(overrides)
        version = (
            ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
        ) + 1
        return ReturnPolicy.objects.create(version=version, **fields)

    return make
