"""The API's datetimes: the short way gives DRF's DateTimeField text."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from orders.apis.orders import _datetime

DRF = serializers.DateTimeField().to_representation
VALUES = [
    datetime(2026, 12, 2, 7, 12, 6, 123456, tzinfo=UTC),
    datetime(2026, 12, 1, 18, 30, tzinfo=UTC),  # midnight in Kolkata
    datetime(2026, 3, 29, 1, 0, tzinfo=dt_timezone(timedelta(hours=-4))),
    datetime(2026, 12, 2, 7, 12, 6),  # naive: DRF's own path
    datetime(9999, 12, 31, 23, 59, tzinfo=UTC),  # past the last year in some zones
    None,
    "2026-12-02T07:12:06Z",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("zone", [None, "UTC", "Europe/London", "America/New_York"])
def test_same_text_as_drf(value, zone):
    def outcome(convert):
        try:
            return convert(value)
        except ValidationError as exc:  # DRF's "overflow"
            return ("refused", exc.detail)

    if zone is None:
        assert outcome(_datetime) == outcome(DRF)
    else:
        with timezone.override(zone):
            assert outcome(_datetime) == outcome(DRF)
