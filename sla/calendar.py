"""Adding hours on wall-clock time or on a business calendar (working days,
working hours, holidays)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .models import BusinessCalendar, Holiday


def add_hours(
    start: datetime,
    hours: Decimal | float,
    calendar: BusinessCalendar | None,
    holidays: set | None = None,
) -> datetime:
    seconds = float(hours) * 3600
    if calendar is None:
        return start + timedelta(seconds=seconds)
    tz = ZoneInfo(calendar.timezone)
    if holidays is None:
        holidays = set(calendar.holidays.values_list("date", flat=True))
    workdays = set(calendar.workdays or [0, 1, 2, 3, 4])
    cursor = start.astimezone(tz)
    remaining = timedelta(seconds=seconds)
    for _ in range(3660):  # ten years of days at most
        day = cursor.date()
        open_at = datetime.combine(day, calendar.day_start, tz)
        close_at = datetime.combine(day, calendar.day_end, tz)
        if day.weekday() in workdays and day not in holidays and cursor < close_at:
            begin = max(cursor, open_at)
            available = close_at - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        cursor = datetime.combine(day + timedelta(days=1), calendar.day_start, tz)
    raise ValueError("The calendar has no working time in the next ten years.")


def calendar_holidays(calendar_ids: set[int]) -> dict[int, set]:
    """Each calendar's holidays in one query (``add_hours``'s ``holidays``), for
    a sweep that adds hours on many legs."""
    out: dict[int, set] = {c: set() for c in calendar_ids}
    if calendar_ids:
        for cid, day in Holiday.objects.filter(calendar_id__in=calendar_ids).values_list(
            "calendar_id", "date"
        ):
            out[cid].add(day)
    return out
