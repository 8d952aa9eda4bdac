"""Dates people read are named in the brand's time zone (settings.TIME_ZONE,
Asia/Kolkata), never in UTC (oms/dates.py). Each test puts the clock just after
midnight IST, when the UTC date is still yesterday's."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.cache import cache

from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from oms.dates import add_months, fmt
from orders.models import OutboundMessage
from quality.services.checks import warranty_status
from refunds.models import Refund
from returns.models import Return
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from tests.ui.builders import three_item_order

pytestmark = pytest.mark.django_db

# 00:15 on Wednesday 2 December in Asia/Kolkata; still 1 December in UTC.
AFTER_MIDNIGHT_IST = datetime(2026, 12, 1, 18, 45, tzinfo=UTC)
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def _day(text: str) -> tuple[int, str]:
    """(day of month, month) from "Fri 04 Dec 2026" or "Fri 4 Dec"."""
    m = re.search(rf"\b(\d{{1,2}}) {MONTH}\b", text)
    assert m, text
    return int(m.group(1)), m.group(2)


def test_email_and_status_page_name_the_same_days_after_midnight_ist(
    time_machine, client, make_sku, make_order, deliver_order, django_capture_on_commit_callbacks
):
    # given an order delivered a week earlier, and a customer signed in to the
    # portal at 00:15 IST on 2 December
    time_machine.move_to(datetime(2026, 11, 24, 6, 0, tzinfo=UTC), tick=False)
    order = three_item_order(make_sku, make_order, deliver_order)
    time_machine.move_to(AFTER_MIDNIGHT_IST, tick=False)
    cache.clear()
    client.post("/returns/", {"order_number": order.number, "contact": order.email})
    code = mail.outbox[-1].subject.rsplit(" ", 1)[-1]
    assert client.post("/returns/verify/", {"code": code}).status_code == 302
    chn = order.units.get(sku__code="CHN-32")
    # when they file a return
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            f"/returns/orders/{order.number}/return/",
            {
                f"unit_{chn.pk}": "on",
                f"reason_{chn.pk}": "size_too_large",
                f"resolution_{chn.pk}": "refund",
                "refund_method": "original",
            },
        )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert r["Location"] == f"/returns/r/{Return.objects.get(order=order).rma}/?new=1"
    # then the page says it was requested on 2 Dec (IST), not 1 Dec (UTC)
    page = client.get(r["Location"]).content.decode()
    assert "requested 2 Dec 2026, 00:15" in page
    # and the email and the page name the same pickup day: 48 h after 00:15 IST
    email = OutboundMessage.objects.get(order=order, template="return_created").body
    in_email = re.search(r"collect the item\(s\) by ([^.]+)\.", email)
    on_page = re.search(r"A courier collects them by ([^.<]+)\.", page)
    assert in_email, email
    assert on_page, page
    assert _day(in_email.group(1)) == _day(on_page.group(1)) == (4, "Dec")
    assert "by Fri 04 Dec 2026." in email
    # and the refund date too
    in_email = re.search(r"should arrive by ([^,]+),", email)
    on_page = re.search(
        r"Refund issued</strong>\s*<span class=\"when\">\s*expected by ([^<]+)<", page
    )
    assert in_email, email
    assert on_page, page
    assert _day(in_email.group(1)) == _day(on_page.group(1))


def test_returnable_window_is_right_and_named_in_ist_after_midnight(
    time_machine, make_sku, make_order, deliver_order, storefront_api
):
    # given one order delivered at 00:30 IST on 1 Nov (its 30-day window closed
    # at 00:30 IST on 1 Dec) and one delivered at 00:20 IST on 2 Nov (open
    # until 00:20 IST on 2 Dec)
    make_sku("WIN", Decimal("500.00"), stock=5)
    time_machine.move_to(datetime(2026, 10, 31, 19, 0, tzinfo=UTC), tick=False)
    closed = make_order([("WIN", 1)])
    deliver_order(closed)
    time_machine.move_to(datetime(2026, 11, 1, 18, 50, tzinfo=UTC), tick=False)
    still_open = make_order([("WIN", 1)])
    deliver_order(still_open)
    # when the storefront asks at 00:15 IST on 2 Dec
    time_machine.move_to(AFTER_MIDNIGHT_IST, tick=False)
    (shut,) = storefront_api.get(f"/api/v1/orders/{closed.number}/returnable/").json()
    (open_,) = storefront_api.get(f"/api/v1/orders/{still_open.number}/returnable/").json()
    # then the first closed on 1 Dec (IST; UTC would say 30 Nov)
    assert shut["returnable_quantity"] == 0
    assert shut["window_ends_at"] == "2026-12-01T00:30:00+05:30"
    assert shut["reasons"][0].endswith("the return window closed on 01 Dec 2026")
    # and the second can still be returned, until 00:20 IST today
    assert open_["returnable_quantity"] == 1
    assert open_["window_ends_at"] == "2026-12-02T00:20:00+05:30"
    # and a return on the closed one is refused, naming the same day
    unit = closed.units.get()
    r = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": closed.number,
            "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    assert r.status_code == 400, r.json()
    assert r.json()["code"] == "window_closed"
    assert "closed on 01 Dec 2026" in r.json()["message"]
    assert r.json()["extra"]["window_ends_at"] == "2026-12-01T00:30:00+05:30"


def test_warranty_months_are_counted_on_the_brands_calendar(
    time_machine, make_sku, make_order, deliver_order
):
    # given a gadget with a one-month warranty delivered at 00:30 IST on 31 Jan
    # (30 Jan in UTC)
    make_sku("GAD-W", Decimal("900.00"), stock=2, warranty_months=1)
    time_machine.move_to(datetime(2026, 1, 30, 19, 0, tzinfo=UTC), tick=False)
    order = make_order([("GAD-W", 1)])
    deliver_order(order)
    unit = order.units.get()
    # then the warranty runs to 00:30 IST on 28 Feb, the end of the customer's
    # month (counted in UTC it would run into 1 Mar IST)
    ends = add_months(unit.delivered_at, 1)
    assert fmt(ends, "%Y-%m-%d %H:%M") == "2026-02-28 00:30"
    assert warranty_status(unit, datetime(2026, 2, 27, 18, 0, tzinfo=UTC)) == ("in_term", ends)
    assert warranty_status(unit, datetime(2026, 2, 28, 12, 0, tzinfo=UTC))[0] == "expired"


def test_credit_note_takes_the_year_of_the_brands_calendar(
    time_machine, make_sku, make_order, deliver_order, actor
):
    # given a refund due just after midnight IST on 1 January 2027 (31 Dec in UTC)
    make_sku("MUG-Y", Decimal("300.00"), stock=2)
    time_machine.move_to(datetime(2026, 12, 20, 6, 0, tzinfo=UTC), tick=False)
    order = make_order([("MUG-Y", 1)])
    deliver_order(order)
    time_machine.move_to(datetime(2026, 12, 31, 18, 45, tzinfo=UTC), tick=False)
    unit = order.units.get()
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(reason="changed_mind", resolution="refund", unit=unit.pk)],
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(type="qc_result", results=[QcResult(unit=unit.pk, passed=True)]),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    refund = Refund.objects.get(order=order)
    # when it is issued
    refund_issue(refund_id=refund.pk)
    # then its credit note is numbered in 2027
    refund.refresh_from_db()
    assert refund.credit_note.number.startswith("CN-2027-"), refund.credit_note.number
