"""The main return flow (create → pickup → receive → QC → refund) through the
services, with no HTTP in between: the same outcomes ``test_apis.py`` and
``test_flows.py`` assert through the API. A refactor that moves these
services (issue 11's use-case layer) keeps these outcomes; only the imports
below may change.
"""

from decimal import Decimal

import pytest
from django.db.models import Sum

from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create, return_quote
from flows.return_review import return_approve, return_reject
from inventory.models import SKU, StockMovement
from oms.errors import ApplicationError, Conflict
from orders.models import LedgerEntry, OutboundMessage, Payment, TimelineEvent, Unit
from refunds.models import CreditNote, Refund
from refunds.selectors import order_ledger
from returns.models import Return, ReturnItem, ReturnPolicy
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from sla.models import Leg
from tests.returns.helpers import assert_invariants, snapshot, stock, unit_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(make_sku, make_order, deliver_order):
    """3 tees (999, line discount 100) + 1 jeans (2499); order discount 200,
    shipping 49; card; delivered (the fixture of ``test_apis.py``)."""
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


def _request(order, *units, reason="changed_mind", **extra) -> ReturnRequest:
    return ReturnRequest(
        order=order.number,
        items=[ItemRequest(reason=reason, resolution="refund", unit=u) for u in units],
        **extra,
    )


def _send(rma, actor, type_, **data):
    return return_handle_event(rma=rma, data=ReturnEventData(type=type_, **data), actor=actor)


def _walk_to_qc(rma, units, actor, *, passed=True):
    _send(rma, actor, "pickup_completed")
    _send(rma, actor, "received", location="wh-main")
    return _send(
        rma,
        actor,
        "qc_result",
        results=[QcResult(unit=u, passed=passed, grade="A") for u in units],
    )


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


def _unit_state(pk) -> str:
    return Unit.objects.get(pk=pk).state


def _legs(ret) -> dict[str, str]:
    return dict(Leg.objects.filter(return_request=ret).values_list("leg", "state"))


def _messages(order) -> list[str]:
    return list(
        OutboundMessage.objects.filter(order=order)
        .order_by("pk")
        .values_list("template", flat=True)
    )


# --- quote -------------------------------------------------------------------


def test_quote_gives_the_breakdown_and_writes_nothing(order):
    # given the whole order about to be returned
    before = _counts()
    # when quoted
    quote = return_quote(_request(order, *unit_ids(order)))
    # then it is everything paid, shipping included, and nothing was written
    breakdown = quote["breakdown"]
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
    assert quote["is_full_return"] is True
    assert quote["type"] == "partial_return"
    assert quote["risk"]["held"] is False
    assert _counts() == before


def test_quote_matches_what_create_then_estimates(order, actor):
    jeans = unit_ids(order)[-1]
    quoted = return_quote(_request(order, jeans))["breakdown"]
    ret = return_create(_request(order, jeans), actor=actor)
    assert ret.estimate == quoted


# --- the main flow, step by step ----------------------------------------------


def test_main_flow_create_pickup_receive_qc_refund(
    order, actor, django_capture_on_commit_callbacks
):
    tee = unit_ids(order)[0]
    tee_sku = SKU.objects.get(code="TEE-M")
    net_paid = Unit.objects.get(pk=tee).net_paid
    assert stock(tee_sku) == {"sellable": 7}

    # when the return is created
    ret = return_create(_request(order, tee), actor=actor)
    # then it is an approved partial return of the tee, quoted at its net paid
    assert ret.rma.startswith("RMA-")
    assert (ret.type, ret.state, ret.is_full_return) == ("partial_return", "approved", False)
    assert ret.policy.version == 1
    assert ret.approved_at is not None
    assert _unit_state(tee) == "return_requested"
    assert Decimal(ret.estimate["total"]) == net_paid
    (tender,) = ret.estimate["tenders"]
    assert (tender["method"], Decimal(tender["amount"])) == ("card", net_paid)
    assert list(order.returns.values_list("rma", "type", "state")) == [
        (ret.rma, "partial_return", "approved")
    ]
    types = list(
        TimelineEvent.objects.filter(order=order, payload__rma=ret.rma)
        .order_by("pk")
        .values_list("type", flat=True)
    )
    assert types[:2] == ["unit.transition", "return.created"]
    assert _legs(ret) == {"pickup": "running"}
    assert _messages(order)[-1] == "return_created"

    # when the courier picks it up
    ret = _send(ret.rma, actor, "pickup_completed")
    # then it is in transit, and so is its stock
    assert ret.state == "in_transit"
    assert _unit_state(tee) == "return_in_transit"
    assert stock(tee_sku) == {"sellable": 7, "in_transit": 1}
    assert _legs(ret) == {"pickup": "completed"}
    assert _messages(order)[-1] == "pickup_done"

    # when the warehouse receives it
    ret = _send(ret.rma, actor, "received", location="wh-main")
    # then it waits for inspection, never sellable before QC
    assert ret.state == "received"
    assert _unit_state(tee) == "returned"
    assert Unit.objects.get(pk=tee).location.code == "wh-main"
    assert stock(tee_sku) == {"sellable": 7, "pending_inspection": 1}
    assert _legs(ret) == {"pickup": "completed", "qc": "running"}
    assert _messages(order)[-1] == "received"
    assert Refund.objects.filter(order=order).count() == 0  # deferred until QC

    # when it passes QC (the issue task captured, not run yet)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ret = _send(
            ret.rma, actor, "qc_result", results=[QcResult(unit=tee, passed=True, grade="A")]
        )
    # then it is restocked and its refund falls due, pending, for the net paid
    assert ret.state == "received"
    assert _unit_state(tee) == "pending_refund"
    item = ReturnItem.objects.get(return_request=ret)
    assert (item.qc_passed, item.grade, item.disposition) == (True, "A", "restock")
    assert stock(tee_sku) == {"sellable": 8}
    refund = Refund.objects.get(order=order)
    assert (refund.state, refund.kind, refund.method) == ("pending", "return", "original")
    assert refund.amount == net_paid
    assert [(t.instrument, t.amount) for t in refund.tenders.all()] == [("card", net_paid)]
    assert _legs(ret) == {"pickup": "completed", "qc": "completed", "refund": "running"}
    assert "qc_outcome" in _messages(order)
    assert callbacks  # the refund's issue task is queued for after the commit

    # when the queued task runs
    for callback in callbacks:
        callback()
    # then the money goes back, with a credit note, and the return completes
    refund.refresh_from_db()
    assert refund.state == "issued"
    assert refund.issued_at is not None
    note = CreditNote.objects.get(refund=refund)
    assert note.number.startswith("CN-")
    assert note.total == refund.amount == note.taxable_total + note.tax_total
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == net_paid
    assert LedgerEntry.objects.get(order=order, kind="refund").amount == net_paid
    ret.refresh_from_db()
    assert ret.state == "completed"
    assert ret.closed_at is not None
    assert _unit_state(tee) == "refunded"
    assert not ReturnItem.objects.filter(return_request=ret, is_open=True).exists()
    assert _legs(ret) == {"pickup": "completed", "qc": "completed", "refund": "completed"}
    assert _messages(order)[-1] == "refund_issued"
    assert order_ledger(order)["balanced"] is True
    assert_invariants(order)


def test_issuing_the_refund_directly_completes_the_return(order, actor):
    # given a return that passed QC, its task not run
    jeans = unit_ids(order)[-1]
    ret = return_create(_request(order, jeans), actor=actor)
    _walk_to_qc(ret.rma, [jeans], actor)
    refund = Refund.objects.get(order=order)
    # when the refund service issues it, twice (a task may run twice)
    refund_issue(refund_id=refund.pk, actor=actor)
    refund_issue(refund_id=refund.pk, actor=actor)
    # then the money moved once and the return is complete
    assert Payment.objects.get(order=order).refunded_amount == refund.amount
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert Return.objects.get(pk=ret.pk).state == "completed"
    assert_invariants(order)


def test_partial_returns_one_after_another_add_up_to_everything_paid(
    order, actor, django_capture_on_commit_callbacks
):
    # given the order's four units, returned one return at a time
    for unit in unit_ids(order):
        with django_capture_on_commit_callbacks(execute=True):
            ret = return_create(_request(order, unit), actor=actor)
            assert ret.type == "partial_return"
            _walk_to_qc(ret.rma, [unit], actor)
        ret.refresh_from_db()
        assert ret.state == "completed"
        assert _unit_state(unit) == "refunded"
    # then the refunds add up to exactly the items paid plus shipping once
    refunded = Refund.objects.filter(order=order, state="issued").aggregate(s=Sum("amount"))["s"]
    assert refunded == order.grand_total == order.items_total + Decimal("49.00")
    assert Refund.objects.filter(order=order, state="issued").count() == 4
    assert Refund.objects.filter(order=order).aggregate(s=Sum("shipping_amount"))["s"] == Decimal(
        "49.00"
    )
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == payment.captured_amount
    assert payment.state == "refunded"
    ledger = order_ledger(order)
    assert ledger["balanced"] is True
    assert Decimal(ledger["retained"]) == Decimal("0.00")
    assert_invariants(order)


def test_failed_qc_sends_the_unit_back_and_refunds_nothing(order, actor):
    jeans = unit_ids(order)[-1]
    ret = return_create(_request(order, jeans), actor=actor)
    ret = _walk_to_qc(ret.rma, [jeans], actor, passed=False)
    assert ret.state == "completed"
    assert _unit_state(jeans) == "return_rejected"
    assert ReturnItem.objects.get(return_request=ret).disposition == "return_to_customer"
    assert not Refund.objects.filter(order=order).exists()
    assert stock(SKU.objects.get(code="JEANS-32")) == {"sellable": 9}
    assert OutboundMessage.objects.filter(
        order=order, template="qc_outcome", body__contains="did not pass"
    ).exists()
    assert_invariants(order)


# --- refusals: nothing changes --------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda units: {"line": "line", "quantity": 4}, "not_returnable", "items[0].quantity"),
        (lambda units: {"unit": "other"}, "unit_not_in_order", "items[0].unit"),
        (lambda units: {"unit": units[0], "reason": "bored"}, "unknown_reason", "items[0].reason"),
        (
            lambda units: {"unit": units[0], "resolution": "exchange", "exchange_sku": "JEANS-32"},
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
def test_invalid_requests_are_refused_with_the_field_and_write_nothing(
    order, make_order, deliver_order, actor, mutate, code, field
):
    other = make_order([("JEANS-32", 1)])
    deliver_order(other)
    units = unit_ids(order)
    spec = {"reason": "changed_mind", "resolution": "refund", **mutate(units)}
    if spec.get("line") == "line":
        spec["line"] = Unit.objects.get(pk=units[0]).line_id
    if spec.get("unit") == "other":
        spec["unit"] = unit_ids(other)[0]
    before = _counts()
    with pytest.raises(ApplicationError) as err:
        return_create(ReturnRequest(order=order.number, items=[ItemRequest(**spec)]), actor=actor)
    assert err.value.status_code == 400
    assert err.value.code == code
    assert err.value.extra["field"] == field
    assert err.value.message.startswith(field)
    assert _counts() == before


def test_units_already_in_an_open_return_conflict(order, actor):
    tee = unit_ids(order)[0]
    return_create(_request(order, tee), actor=actor)
    before = _counts()
    with pytest.raises(Conflict) as err:
        return_create(_request(order, tee), actor=actor)
    assert err.value.code == "units_in_open_return"
    assert _counts() == before


def test_exchange_out_of_stock_conflicts_before_anything_is_created(order, actor):
    tee = unit_ids(order)[0]
    before = _counts()
    with pytest.raises(Conflict) as err:
        return_create(
            ReturnRequest(
                order=order.number,
                items=[
                    ItemRequest(
                        unit=tee,
                        reason="size_too_small",
                        resolution="exchange",
                        exchange_sku="TEE-XL",
                    )
                ],
            ),
            actor=actor,
        )
    assert err.value.code == "insufficient_stock"
    assert "TEE-XL" in err.value.message
    assert _counts() == before


def test_event_not_fitting_the_state_conflicts_and_changes_nothing(order, actor):
    tee = unit_ids(order)[0]
    rma = return_create(_request(order, tee), actor=actor).rma
    for type_, data in [
        ("qc_result", {"results": [QcResult(unit=tee, passed=True)]}),  # not received yet
        ("exchange_dispatched", {}),  # nothing to exchange
        ("difference_collected", {"amount": Decimal("10.00")}),  # nothing owed
    ]:
        before = snapshot(order)
        with pytest.raises(Conflict):
            _send(rma, actor, type_, **data)
        assert snapshot(order) == before
    _send(rma, actor, "pickup_completed")
    for type_ in ("pickup_completed", "cancelled", "pickup_failed"):
        before = snapshot(order)
        with pytest.raises(Conflict) as err:
            _send(rma, actor, type_)
        assert err.value.extra.get("state") or err.value.code == "invalid_state"
        assert snapshot(order) == before


def test_events_on_a_closed_return_conflict(order, actor, django_capture_on_commit_callbacks):
    tee = unit_ids(order)[0]
    with django_capture_on_commit_callbacks(execute=True):
        rma = return_create(_request(order, tee), actor=actor).rma
        _walk_to_qc(rma, [tee], actor)
    assert Return.objects.get(rma=rma).state == "completed"
    before = snapshot(order)
    for type_, data in [
        ("received", {"location": "wh-main"}),
        ("qc_result", {"results": [QcResult(unit=tee, passed=False)]}),
        ("cancelled", {}),
    ]:
        with pytest.raises(Conflict):
            _send(rma, actor, type_, **data)
    assert snapshot(order) == before


def test_qc_result_for_a_unit_not_in_the_return_is_refused(order, actor):
    a, b = unit_ids(order)[:2]
    rma = return_create(_request(order, a), actor=actor).rma
    _send(rma, actor, "received", location="wh-main")
    before = snapshot(order)
    with pytest.raises(ApplicationError) as err:
        _send(rma, actor, "qc_result", results=[QcResult(unit=b, passed=True)])
    assert err.value.status_code == 400
    assert snapshot(order) == before


def test_unknown_event_type_is_refused(order, actor):
    rma = return_create(_request(order, unit_ids(order)[0]), actor=actor).rma
    with pytest.raises(ApplicationError) as err:
        _send(rma, actor, "teleported")
    assert err.value.status_code == 400
    assert err.value.extra["field"] == "type"


def test_redelivered_event_is_ignored(order, actor):
    rma = return_create(_request(order, unit_ids(order)[0]), actor=actor).rma
    _send(rma, actor, "pickup_completed", event_id="courier-77")
    before = snapshot(order)
    again = _send(rma, actor, "pickup_completed", event_id="courier-77")
    assert again.state == "in_transit"
    assert snapshot(order) == before


# --- pickup failures, cancellation, review ---------------------------------------


def test_pickup_failed_counts_attempts_and_tells_the_customer(order, actor):
    rma = return_create(_request(order, unit_ids(order)[0]), actor=actor).rma
    ret = _send(rma, actor, "pickup_failed", reason="door locked")
    assert ret.pickup_attempts == Return.objects.get(rma=rma).pickup_attempts == 1
    assert ret.state == "approved"
    assert OutboundMessage.objects.filter(order=order, template="pickup_failed").count() == 1


def test_cancel_releases_the_exchange_reservation_and_the_units(order, make_sku, actor):
    # given an exchange with the replacement reserved
    xl = make_sku("TEE-XL", Decimal("1199.00"), product="tee", stock=2)
    tee = unit_ids(order)[0]
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[
                ItemRequest(
                    unit=tee, reason="size_too_small", resolution="exchange", exchange_sku="TEE-XL"
                )
            ],
        ),
        actor=actor,
    )
    assert stock(xl) == {"sellable": 1, "reserved": 1}
    # when the customer cancels before pickup
    ret = _send(ret.rma, actor, "cancelled", reason="found it fits")
    # then the reservation is released and the tee is returnable again
    assert ret.state == "cancelled"
    assert _unit_state(tee) == "delivered"
    assert stock(xl) == {"sellable": 2}
    assert set(_legs(ret).values()) == {"cancelled"}
    assert return_create(_request(order, tee), actor=actor).state == "approved"
    assert_invariants(order)


@pytest.fixture
def phone_order(make_sku, make_order, actor):
    """A phone shipped with serial SN-1, delivered."""
    from flows.delivery import shipment_deliver
    from orders.services import shipment_create

    make_sku("PHONE", Decimal("15000.00"), stock=2)
    o = make_order([("PHONE", 1)])
    (unit,) = o.units.all()
    shipment = shipment_create(order=o, unit_ids=[unit.pk], actor=actor, serials={unit.pk: "SN-1"})
    shipment_deliver(shipment_id=shipment.pk, actor=actor)
    return o


def _held(order, actor) -> Return:
    (unit,) = unit_ids(order)
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[
                ItemRequest(unit=unit, reason="changed_mind", resolution="refund", serial="SN-9")
            ],
        ),
        actor=actor,
    )
    assert ret.state == "pending_review"
    return ret


def test_held_return_waits_for_review_then_proceeds_once_approved(
    phone_order, actor, django_capture_on_commit_callbacks
):
    # given a return held for review: the serial is not the one shipped
    ret = _held(phone_order, actor)
    assert ret.risk_score >= ret.policy.risk_threshold
    assert any("Serial number" in reason for reason in ret.risk_reasons)
    assert OutboundMessage.objects.filter(
        order=phone_order, template="return_created", body__contains="review"
    ).exists()
    assert _legs(ret) == {}
    # then nothing moves before a decision
    before = snapshot(phone_order)
    with pytest.raises(Conflict):
        _send(ret.rma, actor, "pickup_completed")
    assert snapshot(phone_order) == before
    # when the supervisor approves
    ret = return_approve(rma=ret.rma, actor=actor, note="serial typo, photo matches")
    assert ret.state == "approved"
    assert ret.review_note == "serial typo, photo matches"
    with pytest.raises(Conflict):
        return_approve(rma=ret.rma, actor=actor)
    # then it proceeds to a refund like any other
    (unit,) = unit_ids(phone_order)
    with django_capture_on_commit_callbacks(execute=True):
        _walk_to_qc(ret.rma, [unit], actor)
    ret.refresh_from_db()
    assert ret.state == "completed"
    assert Refund.objects.get(return_request=ret).state == "issued"
    assert_invariants(phone_order)


def test_rejected_review_puts_units_back_with_the_customer(phone_order, actor):
    ret = _held(phone_order, actor)
    ret = return_reject(rma=ret.rma, actor=actor, note="outside policy")
    assert ret.state == "rejected"
    assert ret.review_note == "outside policy"
    (unit,) = unit_ids(phone_order)
    assert _unit_state(unit) == "delivered"
    assert not ReturnItem.objects.filter(return_request=ret, is_open=True).exists()
    assert OutboundMessage.objects.filter(order=phone_order, template="return_rejected").exists()
    with pytest.raises(Conflict):
        return_reject(rma=ret.rma, actor=actor)
    assert_invariants(phone_order)


def test_fees_are_withheld_from_the_refund_of_a_change_of_mind(
    make_order, deliver_order, actor, django_capture_on_commit_callbacks
):
    # given a policy with a 50 restocking fee and a 79 return-shipping fee
    ReturnPolicy.objects.create(
        version=2, restocking_fee=Decimal("50.00"), return_shipping_fee=Decimal("79.00")
    )
    o = make_order([("MUG-3", 2, Decimal("300.00"))], shipping=Decimal("40.00"))
    deliver_order(o)
    a = unit_ids(o)[0]
    # when one mug is returned for a change of mind
    with django_capture_on_commit_callbacks(execute=True):
        ret = return_create(_request(o, a), actor=actor)
        _walk_to_qc(ret.rma, [a], actor)
    # then 300 − 50 − 79 comes back, as quoted; shipping stays (a mug was kept)
    refund = Refund.objects.get(order=o)
    assert (refund.amount, refund.fees_amount, refund.shipping_amount) == (
        Decimal("171.00"),
        Decimal("129.00"),
        Decimal("0.00"),
    )
    assert Decimal(ret.estimate["total"]) == refund.amount
    assert_invariants(o)
