from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import add_hours
from sla.models import BusinessCalendar, Holiday

IST = ZoneInfo("Asia/Kolkata")
pytestmark = pytest.mark.django_db


@pytest.fixture
def weekdays():
    return BusinessCalendar.objects.create(
        name="Mon-Fri",
        timezone="Asia/Kolkata",
        day_start=time(10),
        day_end=time(19),
        workdays=[0, 1, 2, 3, 4],
    )


def test_wall_clock_adds_plain_hours():
    start = datetime(2026, 11, 20, 17, 0, tzinfo=IST)
    assert add_hours(start, Decimal("48"), None) == datetime(2026, 11, 22, 17, 0, tzinfo=IST)


def test_business_hours_skip_the_weekend(weekdays):
    # given Friday 17:00 with 2 working hours left that day
    start = datetime(2026, 11, 20, 17, 0, tzinfo=IST)
    # when 4 business hours are added
    due = add_hours(start, Decimal("4"), weekdays)
    # then 2 are used on Friday and 2 on Monday morning
    assert due == datetime(2026, 11, 23, 12, 0, tzinfo=IST)


def test_business_hours_skip_a_holiday_after_the_weekend(weekdays):
    Holiday.objects.create(calendar=weekdays, date=date(2026, 11, 23), name="Test holiday")
    start = datetime(2026, 11, 20, 17, 0, tzinfo=IST)
    assert add_hours(start, Decimal("4"), weekdays) == datetime(2026, 11, 24, 12, 0, tzinfo=IST)


def test_start_outside_hours_begins_at_the_next_opening(weekdays):
    start = datetime(2026, 11, 21, 8, 0, tzinfo=IST)  # Saturday
    assert add_hours(start, Decimal("1.5"), weekdays) == datetime(2026, 11, 23, 11, 30, tzinfo=IST)


def test_the_demo_india_calendar_works_saturdays_and_knows_diwali():
    india = BusinessCalendar.objects.get(name__startswith="India")
    assert Holiday.objects.filter(calendar=india, date=date(2026, 11, 8), name="Diwali").exists()
    # Saturday 18:00 + 3h: 1h on Saturday, Sunday off, 2h on Monday
    start = datetime(2026, 11, 21, 18, 0, tzinfo=IST)
    assert add_hours(start, Decimal("3"), india) == datetime(2026, 11, 23, 12, 0, tzinfo=IST)
