"""POST /api/v1/orders/{number}/cancel/: units cancelled before they ship,
with reservations released and exact refunds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from orders.models import LedgerEntry, Payment, TimelineEvent, Unit
from orders.services import shipment_create
from orders.states import PaymentState, UnitState
from refunds.models import CreditNote, Refund, RefundItem
from refunds.selectors import order_ledger
from tests.cancellation.helpers import cancel, unit_ids
from tests.returns.helpers import assert_invariants, snapshot, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee(make_sku):
    return make_sku("TEE-M", Decimal("999.00"), tax_rate=Decimal("12"), product="tee", stock=10)


@pytest.fixture
def order(tee, make_order):
    # 3 × 999 − 101 line discount − 200 order discount = 2696: units of 898.67,
    # 898.67 and 898.66 by the largest remainder; shipping 49 on top.
    return make_order(
        [("TEE-M", 3, Decimal("999.00"), Decimal("101.00"))],
        order_discount=Decimal("200.00"),
        shipping=Decimal("49.00"),
    )


def test_cancelling_one_of_three_allocated_units_refunds_exactly_its_net_paid(
    order, tee, storefront_api, django_capture_on_commit_callbacks
):
    # given a card order of three allocated tees
    units = list(Unit.objects.filter(order=order).order_by("pk"))
    assert {u.state for u in units} == {UnitState.ALLOCATED}
    assert stock(tee) == {"sellable": 7, "reserved": 3}
    last = units[-1]
    events_before = TimelineEvent.objects.filter(order=order).count()
    # when the storefront cancels the last one
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = cancel(storefront_api, order, {"units": [last.pk], "reason": "customer asked"})
    # then it answers with the order, the unit cancelled and the others untouched
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["number"] == order.number
    states = {u["id"]: u["state"] for ln in body["lines"] for u in ln["units"]}
    assert states == {units[0].pk: "allocated", units[1].pk: "allocated", last.pk: "cancelled"}
    assert body["status"] == "unfulfilled"
    # and its reservation is sellable again
    assert stock(tee) == {"sellable": 8, "reserved": 2}
    # and exactly its stored net paid was refunded to the card, after commit
    assert callbacks
    refund = Refund.objects.get(order=order)
    assert refund.kind == "cancellation"
    assert refund.state == "issued"
    assert refund.amount == last.net_paid
    assert refund.shipping_amount == 0
    item = RefundItem.objects.get(refund=refund)
    assert (item.unit_id, item.kind, item.amount) == (last.pk, "cancellation", last.net_paid)
    assert item.tax == (last.tax_amount * item.amount / last.net_paid).quantize(Decimal("0.01"))
    note = CreditNote.objects.get(refund=refund)
    assert note.total == last.net_paid
    assert note.tax_total == item.tax
    assert [ln["unit"] for ln in note.lines] == [last.pk]
    card = Payment.objects.get(order=order)
    assert card.refunded_amount == last.net_paid
    assert card.state == PaymentState.PARTIALLY_REFUNDED
    assert body["payment_status"] == "paid"  # the refund is issued after commit
    after = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    assert after["payment_status"] == "partially_refunded"
    refunds_in_ledger = LedgerEntry.objects.filter(order=order, kind="refund")
    assert [e.amount for e in refunds_in_ledger] == [last.net_paid]
    assert order_ledger(order)["balanced"] is True
    # and the timeline says what happened, who did it and why
    new = TimelineEvent.objects.filter(order=order).order_by("pk")[events_before:]
    types = [e.type for e in new]
    assert types[:2] == ["unit.transition", "order.units_cancelled"]
    assert {"refund.created", "refund.issued", "payment.refunded"} <= set(types)
    unit_row = new[0]
    assert (unit_row.entity_id, unit_row.from_state, unit_row.to_state) == (
        str(last.pk),
        "allocated",
        "cancelled",
    )
    assert unit_row.payload == {"reason": "customer asked"}
    assert unit_row.actor_kind == "api"
    assert_invariants(order)


def test_cancelling_everything_refunds_shipping_once_and_reads_cancelled(
    order, tee, storefront_api, django_capture_on_commit_callbacks
):
    # given one unit cancelled already
    first, *rest = unit_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        assert cancel(storefront_api, order, {"units": [first], "reason": "a"}).status_code == 200
    # when the rest is cancelled with all: true
    with django_capture_on_commit_callbacks(execute=True):
        r = cancel(storefront_api, order, {"all": True, "reason": "changed mind"})
    # then the order is cancelled and fully refunded, shipping included once
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "cancelled"
    after = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    assert (after["status"], after["payment_status"]) == ("cancelled", "refunded")
    refunds = list(Refund.objects.filter(order=order).order_by("pk"))
    assert [r.shipping_amount for r in refunds] == [Decimal("0"), Decimal("49.00")]
    assert sum(r.amount for r in refunds) == order.grand_total
    assert set(RefundItem.objects.filter(refund=refunds[1]).values_list("unit_id", flat=True)) == (
        set(rest)
    )
    card = Payment.objects.get(order=order)
    assert card.refunded_amount == card.captured_amount == order.grand_total
    assert card.state == PaymentState.REFUNDED
    assert stock(tee) == {"sellable": 10}
    assert any(ln["description"] == "Shipping charge" for ln in refunds[1].credit_note.lines)
    assert_invariants(order)
    # and asking again finds nothing left to cancel
    r = cancel(storefront_api, order, {"all": True, "reason": "again"})
    assert r.status_code == 409
    assert r.json()["code"] == "nothing_to_cancel"


def test_cancel_by_line_takes_the_last_units_of_the_line(
    order, tee, storefront_api, django_capture_on_commit_callbacks
):
    # given a line of three allocated tees
    units = unit_ids(order)
    line = order.lines.get()
    # when one is cancelled by quantity
    with django_capture_on_commit_callbacks(execute=True):
        r = cancel(
            storefront_api, order, {"lines": [{"line": line.pk, "quantity": 1}], "reason": "one"}
        )
    # then the last unit of the line is the one cancelled
    assert r.status_code == 200, r.json()
    assert Unit.objects.get(pk=units[-1]).state == UnitState.CANCELLED
    assert stock(tee) == {"sellable": 8, "reserved": 2}
    # and asking for more than is left on the line is a conflict naming it
    r = cancel(
        storefront_api, order, {"lines": [{"line": line.pk, "quantity": 3}], "reason": "more"}
    )
    assert r.status_code == 409
    assert (r.json()["extra"]["line"], r.json()["extra"]["cancellable"]) == (line.pk, 2)
    assert_invariants(order)


def test_backordered_units_cancel_without_moving_stock(
    make_sku, make_order, storefront_api, django_capture_on_commit_callbacks
):
    # given a line of three with no stock: all three on backorder
    lamp = make_sku("LAMP-1", Decimal("1500.00"), stock=0)
    order = make_order([("LAMP-1", 3)])
    assert set(Unit.objects.filter(order=order).values_list("state", flat=True)) == {"ordered"}
    line = order.lines.get()
    movements = StockMovement.objects.count()
    # when two are cancelled by quantity
    with django_capture_on_commit_callbacks(execute=True):
        r = cancel(
            storefront_api,
            order,
            {"lines": [{"line": line.pk, "quantity": 2}], "reason": "out of stock"},
        )
    # then two are cancelled, nothing was reserved so no stock moves, and they are refunded
    assert r.status_code == 200, r.json()
    states = list(
        Unit.objects.filter(order=order).order_by("index").values_list("state", flat=True)
    )
    assert states == ["ordered", "cancelled", "cancelled"]
    assert StockMovement.objects.count() == movements
    assert stock(lamp) == {}
    assert Refund.objects.get(order=order).amount == Decimal("3000.00")
    assert_invariants(order)


def test_a_shipped_unit_is_409_and_nothing_changes(order, storefront_api, actor):
    # given one unit shipped
    shipped, waiting, _ = unit_ids(order)
    shipment_create(order=order, unit_ids=[shipped], actor=actor)
    before = snapshot(order)
    payments = list(Payment.objects.filter(order=order).values())
    # when the storefront asks to cancel it with another
    r = cancel(storefront_api, order, {"units": [waiting, shipped], "reason": "too late"})
    # then it is refused, naming the unit and its state, and nothing changed
    assert r.status_code == 409, r.json()
    body = r.json()
    assert body["code"] == "invalid_state"
    assert (body["extra"]["unit"], body["extra"]["state"]) == (shipped, "shipped")
    assert str(shipped) in body["message"]
    assert "shipped" in body["message"]
    assert snapshot(order) == before
    assert list(Payment.objects.filter(order=order).values()) == payments
    assert Unit.objects.get(pk=waiting).state == UnitState.ALLOCATED


def test_a_unit_of_another_order_is_400(order, make_order, storefront_api):
    # given another order
    other = make_order([("TEE-M", 1)])
    before = snapshot(order)
    # when its unit is named on this order
    r = cancel(
        storefront_api, order, {"units": [unit_ids(order)[0], *unit_ids(other)], "reason": "x"}
    )
    # then it is a 400 naming the unit, and nothing changed
    assert r.status_code == 400
    assert r.json()["code"] == "unknown_units"
    assert r.json()["extra"]["units"] == unit_ids(other)
    assert snapshot(order) == before
    r = cancel(
        storefront_api,
        order,
        {"lines": [{"line": other.lines.get().pk, "quantity": 1}], "reason": "x"},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "unknown_lines"


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "nothing chosen"},
        {"units": [], "reason": "empty"},
        {"all": True, "units": [1], "reason": "two ways"},
        {"all": False, "reason": "false is not a choice"},
        {"all": True},
        {"all": True, "reason": ""},
        {"lines": [{"line": 1, "quantity": 0}], "reason": "zero"},
    ],
)
def test_invalid_bodies_are_400_with_the_field_named(order, storefront_api, body):
    r = cancel(storefront_api, order, body)
    assert r.status_code == 400, r.json()
    assert set(r.json()) == {"code", "message", "extra"}


def test_a_unit_listed_twice_is_400(order, storefront_api):
    u = unit_ids(order)[0]
    r = cancel(storefront_api, order, {"units": [u, u], "reason": "twice"})
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "units"


def test_an_unknown_order_is_404(storefront_api, channel):
    r = storefront_api.post(
        "/api/v1/orders/OD-NOPE/cancel/", {"all": True, "reason": "x"}, format="json"
    )
    assert r.status_code == 404


def test_the_same_event_id_again_returns_the_order_and_changes_nothing(
    order, storefront_api, django_capture_on_commit_callbacks
):
    # given a cancellation with an event id
    u = unit_ids(order)[0]
    body = {"units": [u], "reason": "dup", "event_id": "sf-cancel-1"}
    with django_capture_on_commit_callbacks(execute=True):
        first = cancel(storefront_api, order, body)
    assert first.status_code == 200
    before = snapshot(order)
    payments = list(Payment.objects.filter(order=order).values())
    # when the same event arrives again (even for all: true)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = cancel(storefront_api, order, body)
        other_body = cancel(
            storefront_api, order, {"all": True, "reason": "dup", "event_id": "sf-cancel-1"}
        )
    # then it answers with the order, as the first did, and nothing changed
    assert again.status_code == 200, again.json()
    assert again.json()["lines"] == first.json()["lines"]
    assert other_body.status_code == 200
    assert snapshot(order) == before
    assert list(Payment.objects.filter(order=order).values()) == payments
    assert Refund.objects.filter(order=order).count() == 1
    assert not callbacks
    # and another event id is a new cancellation
    r = cancel(storefront_api, order, {**body, "event_id": "sf-cancel-2"})
    assert r.status_code == 409  # that unit is cancelled already


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("warehouse", 403),
        ("agent", 403),
        ("finance", 403),
        ("storefront", 200),
        ("ops", 200),
        ("supervisor", 200),
    ],
)
def test_who_may_cancel(order, api_client_for, role, status):
    r = cancel(api_client_for(role), order, {"units": unit_ids(order)[:1], "reason": "role"})
    assert r.status_code == status, r.json()
    assert Unit.objects.filter(order=order, state="cancelled").count() == (status == 200)


def test_anonymous_is_401(order, anon_api):
    assert cancel(anon_api, order, {"all": True, "reason": "x"}).status_code == 401
