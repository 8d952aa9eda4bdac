"""The returns API contract (issue 3): status codes and bodies."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockMovement
from orders.models import LedgerEntry, OutboundMessage, TimelineEvent, Unit
from refunds.models import Refund, StoreCredit
from returns.models import Return, ReturnItem
from tests.returns.helpers import (
    assert_invariants,
    create,
    event,
    quote,
    refund_item,
    snapshot,
    stock,
    unit_ids,
    walk_to_qc,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(make_sku, make_order, deliver_order):
    """3 tees (999, line discount 100) + 1 jeans (2499); order discount 200,
    shipping 49; card; delivered."""
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=10)
    make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=0)
    make_sku("JEANS-32", Decimal("2499.00"), product="jeans", stock=10)
    o = make_order(
        [("TEE-M", 3, Decimal("999.00"), Decimal("100.00")), ("JEANS-32", 1)],
        order_discount=Decimal("200.00"),
        shipping=Decimal("49.00"),
    )
    deliver_order(o)
    return o


def _counts():
    return (
        Return.objects.count(),
        ReturnItem.objects.count(),
        TimelineEvent.objects.count(),
        StockMovement.objects.count(),
        OutboundMessage.objects.count(),
        Refund.objects.count(),
        list(Unit.objects.order_by("pk").values_list("state", flat=True)),
    )


# --- returnable ----------------------------------------------------------------


def test_returnable_lists_each_line_with_quantity_window_and_reasons(order, storefront_api):
    # given one tee already in an open return
    tee = unit_ids(order)[0]
    assert create(storefront_api, refund_item(order.number, tee)).status_code == 201
    # when the storefront asks what can still be returned
    r = storefront_api.get(f"/api/v1/orders/{order.number}/returnable/")
    # then each line says how many, until when, and why not the others
    assert r.status_code == 200
    lines = {x["sku"]: x for x in r.json()}
    assert set(lines) == {"TEE-M", "JEANS-32"}
    for x in lines.values():
        assert {"line", "sku", "returnable_quantity", "window_ends_at", "reasons"} <= set(x)
    assert lines["TEE-M"]["returnable_quantity"] == 2
    assert lines["TEE-M"]["reasons"] == [f"unit {tee} is already in an open return"]
    assert lines["JEANS-32"]["returnable_quantity"] == 1
    assert lines["JEANS-32"]["reasons"] == []
    ends = lines["JEANS-32"]["window_ends_at"]
    # the API writes the instant in the brand's time zone, so its date is that
    # zone's day (not UTC's: they differ from 18:30 to 24:00 UTC)
    assert ends.startswith(str(timezone.localdate(timezone.now() + timedelta(days=30))))


def test_returnable_after_the_window_says_it_closed(
    make_sku, make_order, deliver_order, storefront_api
):
    # given an order delivered 31 days ago under a 30-day window
    make_sku("OLD", Decimal("500.00"), stock=5)
    o = make_order([("OLD", 1)], placed_at=timezone.now() - timedelta(days=35))
    deliver_order(o, delivered_at=timezone.now() - timedelta(days=31))
    # when / then
    (line,) = storefront_api.get(f"/api/v1/orders/{o.number}/returnable/").json()
    assert line["returnable_quantity"] == 0
    assert "return window closed" in line["reasons"][0]


# --- quote ---------------------------------------------------------------------


def test_quote_gives_the_breakdown_and_writes_nothing(order, storefront_api):
    # given the full order about to be returned
    before = _counts()
    body = {
        "order": order.number,
        "items": [
            {"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in unit_ids(order)
        ],
    }
    # when quoted
    r = quote(storefront_api, body)
    # then it is the whole amount paid, shipping included, and nothing was written
    assert r.status_code == 200, r.json()
    breakdown = r.json()["breakdown"]
    assert Decimal(breakdown["items"]) == order.items_total
    assert breakdown["shipping"] == "49.00"
    assert breakdown["fees"] == "0.00"
    assert Decimal(breakdown["total"]) == order.grand_total
    assert breakdown["tenders"] == [
        {
            "payment": order.payments.get().pk,
            "method": "card",
            "tender": "card",
            "amount": breakdown["total"],
        }
    ]
    assert r.json()["is_full_return"] is True
    assert _counts() == before


def test_quote_matches_what_create_then_estimates(order, storefront_api):
    body = refund_item(order.number, unit_ids(order)[-1])
    q = quote(storefront_api, body).json()["breakdown"]
    c = create(storefront_api, body).json()["refund"]
    assert c["breakdown"] == q
    assert c["estimated"] == q["total"]


# --- create ----------------------------------------------------------------------


def test_create_returns_201_with_the_documented_body(order, storefront_api):
    # given a tee to return
    tee = unit_ids(order)[0]
    # when created
    r = create(storefront_api, refund_item(order.number, tee))
    # then the body has every documented key
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["rma"].startswith("RMA-")
    assert body["type"] == "partial_return"
    assert body["state"] == "approved"
    assert body["units"] == [{"id": tee, "state": "return_requested", "resolution": "refund"}]
    assert body["policy_version"] == 1
    refund = body["refund"]
    assert refund["estimated"] == refund["breakdown"]["total"]
    for key in ("items", "fees", "shipping", "total", "tenders"):
        assert key in refund["breakdown"]
    (tender,) = refund["breakdown"]["tenders"]
    assert tender["method"] == "card"
    assert tender["amount"] == refund["estimated"]
    assert Unit.objects.get(pk=tee).net_paid == Decimal(refund["estimated"])
    # and the return is now in the order's detail and readable by itself
    detail = storefront_api.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["returns"] == [
        {"rma": body["rma"], "type": "partial_return", "state": "approved"}
    ]
    got = storefront_api.get(f"/api/v1/returns/{body['rma']}/")
    assert got.status_code == 200
    assert got.json()["units"][0]["id"] == tee
    assert [e["type"] for e in got.json()["timeline"]][:2] == ["unit.transition", "return.created"]


def test_unknown_return_is_404(storefront_api):
    assert storefront_api.get("/api/v1/returns/RMA-NOPE/").status_code == 404


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(order, storefront_api):
    # given a create sent with an Idempotency-Key
    a, b = unit_ids(order)[:2]
    first = create(storefront_api, refund_item(order.number, a), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    # when retried with the same key and body
    again = create(storefront_api, refund_item(order.number, a), HTTP_IDEMPOTENCY_KEY="k-1")
    # then the first response comes back and nothing new is created
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Return.objects.count() == 1
    # when the same key is used for another body
    other = create(storefront_api, refund_item(order.number, b), HTTP_IDEMPOTENCY_KEY="k-1")
    # then 422 and still one return
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Return.objects.count() == 1


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (
            lambda o, units, other: {"line": Unit.objects.get(pk=units[0]).line_id, "quantity": 4},
            "not_returnable",
            "items[0].quantity",
        ),
        (lambda o, units, other: {"unit": other}, "unit_not_in_order", "items[0].unit"),
        (
            lambda o, units, other: {"unit": units[0], "reason": "bored"},
            "unknown_reason",
            "items[0].reason",
        ),
        (
            lambda o, units, other: {
                "unit": units[0],
                "resolution": "exchange",
                "exchange_sku": "JEANS-32",
            },
            "invalid",
            "items[0].exchange_sku",
        ),
    ],
    ids=[
        "more-than-returnable",
        "unit-of-another-order",
        "unknown-reason",
        "exchange-to-another-product",
    ],
)
def test_invalid_requests_are_400_with_the_reason_and_write_nothing(
    order, make_order, deliver_order, storefront_api, mutate, code, field
):
    # given another order's unit
    other = make_order([("JEANS-32", 1)])
    deliver_order(other)
    units = unit_ids(order)
    item = {
        "reason": "changed_mind",
        "resolution": "refund",
        **mutate(order, units, unit_ids(other)[0]),
    }
    before = _counts()
    # when
    r = create(storefront_api, {"order": order.number, "items": [item]})
    # then
    assert r.status_code == 400, r.json()
    assert r.json()["code"] == code
    assert r.json()["extra"]["field"] == field
    assert r.json()["message"].startswith(field)
    assert _counts() == before


def test_window_closed_is_400_but_a_defect_under_warranty_is_accepted(
    make_sku, make_order, deliver_order, storefront_api
):
    # given a blender under 12 months' warranty delivered 40 days ago
    make_sku("BLENDER", Decimal("3000.00"), stock=5, warranty_months=12)
    o = make_order([("BLENDER", 2)], placed_at=timezone.now() - timedelta(days=45))
    deliver_order(o, delivered_at=timezone.now() - timedelta(days=40))
    a, b = unit_ids(o)
    # when it is returned for a change of mind
    r = create(storefront_api, refund_item(o.number, a))
    # then the window has closed
    assert r.status_code == 400
    assert r.json()["code"] == "window_closed"
    assert "window_ends_at" in r.json()["extra"]
    # when it is returned as defective
    body = refund_item(o.number, b, reason="defective")
    body["items"][0]["defect_type"] = "hardware_failure"
    r = create(storefront_api, body)
    # then the warranty accepts it
    assert r.status_code == 201, r.json()
    assert r.json()["type"] == "quality_rejection"


def test_non_returnable_sku_is_400(make_sku, make_order, deliver_order, storefront_api):
    # given innerwear, not returnable
    make_sku("BRIEF", Decimal("399.00"), stock=5, returnable=False)
    o = make_order([("BRIEF", 1)])
    deliver_order(o)
    before = _counts()
    r = create(storefront_api, refund_item(o.number, unit_ids(o)[0]))
    assert r.status_code == 400
    assert r.json()["code"] == "non_returnable_sku"
    assert _counts() == before
    returnable = storefront_api.get(f"/api/v1/orders/{o.number}/returnable/").json()
    assert returnable[0]["returnable_quantity"] == 0


def test_units_already_in_an_open_return_are_409(order, storefront_api):
    tee = unit_ids(order)[0]
    assert create(storefront_api, refund_item(order.number, tee)).status_code == 201
    before = _counts()
    r = create(storefront_api, refund_item(order.number, tee))
    assert r.status_code == 409
    assert r.json()["code"] == "units_in_open_return"
    assert _counts() == before


def test_exchange_out_of_stock_is_409_before_anything_is_created(order, storefront_api):
    # given no XL in stock
    tee = unit_ids(order)[0]
    before = _counts()
    # when a tee is exchanged for an XL
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [
                {
                    "unit": tee,
                    "reason": "size_too_small",
                    "resolution": "exchange",
                    "exchange_sku": "TEE-XL",
                }
            ],
        },
    )
    # then 409, and no return, item, unit change, timeline row or stock movement exists
    assert r.status_code == 409, r.json()
    assert r.json()["code"] == "insufficient_stock"
    assert "TEE-XL" in r.json()["message"]
    assert _counts() == before


# --- refund methods ------------------------------------------------------------


@pytest.fixture
def cod_order(make_sku, make_order, deliver_order):
    make_sku("SAREE", Decimal("1500.00"), stock=5)
    o = make_order([("SAREE", 2)], cod=True)
    deliver_order(o)
    return o


def test_cod_order_cannot_refund_to_the_original_tender(cod_order, storefront_api):
    r = create(storefront_api, refund_item(cod_order.number, unit_ids(cod_order)[0]))
    assert r.status_code == 400
    assert r.json()["code"] == "refund_method_not_allowed"
    assert r.json()["extra"]["allowed"] == ["store_credit", "bank_transfer"]


@pytest.mark.parametrize(
    ("payout", "field"),
    [
        ({}, "payout"),
        ({"upi_id": "not a upi"}, "payout.upi_id"),
        ({"account_name": "A", "account_number": "12345678", "ifsc": "BAD"}, "payout.ifsc"),
        (
            {"account_name": "A", "account_number": "12ab", "ifsc": "HDFC0001234"},
            "payout.account_number",
        ),
    ],
)
def test_bank_transfer_needs_valid_payout_details(cod_order, storefront_api, payout, field):
    body = refund_item(
        cod_order.number, unit_ids(cod_order)[0], refund_method="bank_transfer", payout=payout
    )
    r = create(storefront_api, body)
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == field


def test_cod_refund_as_bank_payout_and_as_store_credit(
    cod_order, storefront_api, warehouse_api, finance_api, django_capture_on_commit_callbacks
):
    a, b = unit_ids(cod_order)
    with django_capture_on_commit_callbacks(execute=True):
        # when one saree goes back to a UPI payout and the other to store credit
        r1 = create(
            storefront_api,
            refund_item(
                cod_order.number, a, refund_method="bank_transfer", payout={"upi_id": "asha@okhdfc"}
            ),
        )
        r2 = create(storefront_api, refund_item(cod_order.number, b, refund_method="store_credit"))
        assert r1.status_code == r2.status_code == 201, (r1.json(), r2.json())
        walk_to_qc(warehouse_api, r1.json()["rma"], [a])
        walk_to_qc(warehouse_api, r2.json()["rma"], [b])
    # the bank/UPI one waits for finance, who pays it and records the UTR
    with django_capture_on_commit_callbacks(execute=True):
        pending = finance_api.get("/api/v1/payouts/?state=pending").json()["results"]
        assert [p["rma"] for p in pending] == [r1.json()["rma"]]
        paid = finance_api.post(
            f"/api/v1/payouts/{pending[0]['id']}/paid/", {"utr": "412345678901"}, format="json"
        )
        assert paid.status_code == 200, paid.json()
    # then both are issued from the COD tender, by their own instrument
    refunds = {
        r["method"]: r
        for r in storefront_api.get(f"/api/v1/refunds/?order={cod_order.number}").json()
    }
    assert set(refunds) == {"bank_transfer", "store_credit"}
    assert refunds["bank_transfer"]["tenders"][0]["method"] == "bank_transfer"
    assert StoreCredit.objects.get(refund_id=refunds["store_credit"]["id"]).amount == Decimal(
        "1500.00"
    )
    kinds = set(LedgerEntry.objects.filter(order=cod_order).values_list("kind", flat=True))
    assert {"cod_collection", "payout", "store_credit"} <= kinds
    ledger = finance_api.get(f"/api/v1/orders/{cod_order.number}/ledger/").json()
    assert ledger["balanced"] is True
    assert ledger["retained"] == "0.00"
    assert_invariants(cod_order)


def test_refunds_list_by_order_shows_state_amount_method_and_credit_note(
    order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given one issued refund on the order
    jeans = unit_ids(order)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        rma = create(storefront_api, refund_item(order.number, jeans)).json()["rma"]
        walk_to_qc(warehouse_api, rma, [jeans])
    # when listed
    r = storefront_api.get(f"/api/v1/refunds/?order={order.number}")
    # then
    assert r.status_code == 200
    (refund,) = r.json()
    assert refund["state"] == "issued"
    assert Decimal(refund["amount"]) == Unit.objects.get(pk=jeans).net_paid
    assert refund["method"] == "original"
    assert refund["credit_note"].startswith("CN-")
    assert refund["rma"] == rma
    assert storefront_api.get("/api/v1/refunds/?order=OD-OTHER").json() == []


# --- events ----------------------------------------------------------------------


def test_event_not_fitting_the_state_is_409_and_changes_nothing(
    order, storefront_api, warehouse_api, supervisor_api
):
    tee = unit_ids(order)[0]
    rma = create(storefront_api, refund_item(order.number, tee)).json()["rma"]
    cases = [
        {"type": "qc_result", "results": [{"unit": tee, "passed": True}]},  # not received yet
        {"type": "exchange_dispatched"},  # nothing to exchange
        {"type": "difference_collected", "amount": "10.00"},  # nothing owed
    ]
    for body in cases:
        before = snapshot(order)
        r = event(supervisor_api, rma, body)
        assert r.status_code == 409, (body, r.json())
        assert snapshot(order) == before
    event(warehouse_api, rma, {"type": "pickup_completed"})
    for body in [{"type": "pickup_completed"}, {"type": "cancelled"}, {"type": "pickup_failed"}]:
        before = snapshot(order)
        r = event(warehouse_api, rma, body)
        assert r.status_code == 409, (body, r.json())
        assert r.json()["extra"].get("state") or r.json()["code"] == "invalid_state"
        assert snapshot(order) == before


def test_events_on_a_closed_return_are_409(
    order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    tee = unit_ids(order)[0]
    with django_capture_on_commit_callbacks(execute=True):
        rma = create(storefront_api, refund_item(order.number, tee)).json()["rma"]
        walk_to_qc(warehouse_api, rma, [tee])
    before = snapshot(order)
    for body in [
        {"type": "received", "location": "wh-main"},
        {"type": "qc_result", "results": [{"unit": tee, "passed": False}]},
        {"type": "cancelled"},
    ]:
        assert event(warehouse_api, rma, body).status_code == 409
    assert snapshot(order) == before


def test_pickup_failed_counts_attempts_and_tells_the_customer(order, storefront_api, warehouse_api):
    rma = create(storefront_api, refund_item(order.number, unit_ids(order)[0])).json()["rma"]
    r = event(warehouse_api, rma, {"type": "pickup_failed", "reason": "door locked"})
    assert r.status_code == 200
    assert r.json()["pickup_attempts"] == 1
    assert r.json()["state"] == "approved"
    assert OutboundMessage.objects.filter(order=order, template="pickup_failed").count() == 1


def test_cancel_releases_the_exchange_reservation_and_the_units(
    order, make_sku, storefront_api, warehouse_api
):
    # given an exchange with the replacement reserved
    xl = make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=2)
    tee = unit_ids(order)[0]
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [
                {
                    "unit": tee,
                    "reason": "size_too_small",
                    "resolution": "exchange",
                    "exchange_sku": "TEE-XL",
                }
            ],
        },
    )
    rma = r.json()["rma"]
    assert stock(xl) == {"sellable": 1, "reserved": 1}
    # when the customer cancels before pickup
    r = event(warehouse_api, rma, {"type": "cancelled", "reason": "found it fits"})
    # then the reservation is released and the tee is returnable again
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "cancelled"
    assert r.json()["units"][0]["state"] == "delivered"
    assert stock(xl) == {"sellable": 2}
    assert create(storefront_api, refund_item(order.number, tee)).status_code == 201
    assert_invariants(order)


def test_redelivered_event_is_ignored(order, storefront_api, warehouse_api):
    rma = create(storefront_api, refund_item(order.number, unit_ids(order)[0])).json()["rma"]
    body = {"type": "pickup_completed", "event_id": "courier-77"}
    assert event(warehouse_api, rma, body).status_code == 200
    before = snapshot(order)
    again = event(warehouse_api, rma, body)
    assert again.status_code == 200
    assert snapshot(order) == before


def test_storefront_may_not_post_events_and_unknown_type_is_400(
    order, storefront_api, warehouse_api
):
    rma = create(storefront_api, refund_item(order.number, unit_ids(order)[0])).json()["rma"]
    assert event(storefront_api, rma, {"type": "pickup_completed"}).status_code == 403
    r = event(warehouse_api, rma, {"type": "teleported"})
    assert r.status_code == 400
    assert "type" in r.json()["extra"]["fields"]


def test_qc_result_for_a_unit_not_in_the_return_is_400(order, storefront_api, warehouse_api):
    a, b = unit_ids(order)[:2]
    rma = create(storefront_api, refund_item(order.number, a)).json()["rma"]
    event(warehouse_api, rma, {"type": "received", "location": "wh-main"})
    before = snapshot(order)
    r = event(warehouse_api, rma, {"type": "qc_result", "results": [{"unit": b, "passed": True}]})
    assert r.status_code == 400
    assert snapshot(order) == before
