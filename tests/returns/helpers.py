"""Small helpers shared by the returns and refunds tests: API calls, and the
invariants every flow must keep (money, stock, units)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from inventory.models import StockBalance, StockMovement
from inventory.selectors import stock_ledger_mismatches
from orders.models import Order, OutboundMessage, Payment, TimelineEvent, Unit
from refunds.models import Refund
from refunds.selectors import order_ledger
from returns.models import ReturnItem
from returns.states import OPEN_STATES


def create(api, body, **headers):
    return api.post("/api/v1/returns/", body, format="json", **headers)


def quote(api, body):
    return api.post("/api/v1/returns/quote/", body, format="json")


def event(api, rma, body):
    return api.post(f"/api/v1/returns/{rma}/events/", body, format="json")


def refund_item(order_number, unit_id, reason="changed_mind", **extra):
    return {
        "order": order_number,
        "items": [{"unit": unit_id, "reason": reason, "resolution": "refund"}],
        **extra,
    }


def unit_ids(order) -> list[int]:
    return list(
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .order_by("line__position", "index")
        .values_list("pk", flat=True)
    )


def walk_to_qc(api, rma, units, *, passed=True, location="wh-main", disposition=""):
    """pickup → received → QC for ``units``; returns the last response body."""
    r = event(api, rma, {"type": "pickup_completed"})
    assert r.status_code == 200, r.json()
    r = event(api, rma, {"type": "received", "location": location})
    assert r.status_code == 200, r.json()
    r = event(
        api,
        rma,
        {
            "type": "qc_result",
            "results": [
                {"unit": u, "passed": passed, "grade": "A", "disposition": disposition}
                for u in units
            ],
        },
    )
    assert r.status_code == 200, r.json()
    return r.json()


def stock(sku, location="wh-main") -> dict[str, int]:
    return {
        b: q
        for b, q in StockBalance.objects.filter(sku=sku, location__code=location).values_list(
            "bucket", "quantity"
        )
        if q
    }


def snapshot(order) -> dict:
    """What an event refused with 409 must leave exactly as it was."""
    return {
        "timeline": TimelineEvent.objects.filter(order=order).count(),
        "movements": StockMovement.objects.count(),
        "units": dict(Unit.objects.filter(order=order).values_list("pk", "state")),
        "refunds": Refund.objects.filter(order=order).count(),
        "messages": OutboundMessage.objects.filter(order=order).count(),
        "items": list(
            ReturnItem.objects.filter(return_request__order=order)
            .order_by("pk")
            .values_list("pk", "is_open", "qc_passed", "disposition", "replacement_unit")
        ),
    }


def assert_invariants(order: Order) -> None:
    """Money never exceeds what was captured (per tender), stock equals its
    ledger, every unit in an open return is in exactly one open item, and the
    order's ledger reconciles."""
    for p in Payment.objects.filter(order=order):
        assert Decimal("0") <= p.refunded_amount <= p.captured_amount, p
    issued = Refund.objects.filter(order=order, state="issued").aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0")
    captured = Payment.objects.filter(order=order).aggregate(s=Sum("captured_amount"))[
        "s"
    ] or Decimal("0")
    assert issued <= captured
    assert stock_ledger_mismatches() == []
    open_items = list(
        ReturnItem.objects.filter(is_open=True, unit__order=order).values_list(
            "unit_id", "return_request__state"
        )
    )
    units_in_open_items = [u for u, _ in open_items]
    assert len(units_in_open_items) == len(set(units_in_open_items))
    for _, state in open_items:
        assert state in OPEN_STATES
    from orders.states import OPEN_RETURN_STATES

    for unit_id, state in Unit.objects.filter(order=order).values_list("pk", "state"):
        if state in OPEN_RETURN_STATES:
            assert unit_id in units_in_open_items, (unit_id, state)
    ledger = order_ledger(order)
    assert ledger["balanced"] is True, ledger
