"""One rule for days: the brand's time zone (``settings.TIME_ZONE``) names every
date shown to people and counts every calendar-based period; UTC is for storage
only.

The database and the API keep instants (aware datetimes; the API writes them
with the brand's offset). Pages get this for free: Django's ``|date`` filter
shows a datetime in the current time zone, which is ``TIME_ZONE``. Text built in
Python (emails, reasons, timeline entries, numbers with a year in them) must do
the same, or an email sent at 00:30 IST names yesterday while the status page
names today. Windows counted in days (``window_days``) are durations from an
instant and need no time zone; calendar months (warranty) are counted on the
brand's calendar.
"""

from __future__ import annotations

from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from django.utils import timezone


def local(dt: datetime) -> datetime:
    """``dt`` in the brand's time zone."""
    return timezone.localtime(dt, timezone.get_default_timezone())


def local_day(dt: datetime) -> date:
    """The brand's calendar day ``dt`` falls on."""
    return local(dt).date()


def fmt(dt: datetime | None, pattern: str = "%d %b %Y") -> str:
    """``dt`` formatted with ``strftime`` in the brand's time zone; "" for None."""
    return local(dt).strftime(pattern) if dt else ""


def add_months(dt: datetime, months: int) -> datetime:
    """``months`` calendar months after ``dt``, counted on the brand's calendar
    (delivered 31 Jan 00:30 IST + 1 month = 28 Feb 00:30 IST, whatever UTC says)."""
    return local(dt) + relativedelta(months=months)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants the brand's calendar ``day`` starts and the next one starts
    (a daily report for 1 Dec IST covers 30 Nov 18:30 UTC to 1 Dec 18:30 UTC)."""
    zone = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), zone)
    end = timezone.make_aware(
        datetime.combine(day + relativedelta(days=1), datetime.min.time()), zone
    )
    return start, end
