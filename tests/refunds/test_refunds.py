"""Refunds: split tenders in policy order, idempotent issue, gateway failure
and retry, credit notes, and the ledger."""

from decimal import Decimal

import pytest

from flows.refunds import refund_issue
from flows.return_events import return_handle_event
from flows.return_intake import return_create
from orders.models import LedgerEntry, Payment
from orders.services import PaymentData
from refunds.gateways import GatewayError
from refunds.models import CreditNote, GatewayRefund, Refund
from refunds.selectors import order_ledger
from returns.models import ReturnPolicy
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from tests.returns.helpers import assert_invariants

pytestmark = pytest.mark.django_db


class FailingGateway:
    name = "failing"

    def refund(self, **kwargs):
        raise GatewayError("card network unavailable")


def _return_and_pass_qc(order, units, actor, **req):
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[
                ItemRequest(reason="changed_mind", resolution="refund", unit=u.pk) for u in units
            ],
            **req,
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(
            type="qc_result", results=[QcResult(unit=u.pk, passed=True) for u in units]
        ),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    return ret


@pytest.fixture
def split_order(make_sku, make_order, deliver_order):
    """Two coats at 3000, paid 1000 by gift card and 5000 by card."""
    make_sku("COAT", Decimal("3000.00"), stock=5)
    order = make_order(
        [("COAT", 2)],
        payments=[
            PaymentData("gift_card", Decimal("1000.00")),
            PaymentData("card", Decimal("5000.00")),
        ],
    )
    deliver_order(order)
    return order


def test_split_tender_refunds_in_the_policy_order(
    split_order, actor, django_capture_on_commit_callbacks
):
    # given the policy refunds card before gift card
    a, b = split_order.units.order_by("pk")
    # when both coats come back, one return after the other
    with django_capture_on_commit_callbacks(execute=True):
        _return_and_pass_qc(split_order, [a], actor)
    card = Payment.objects.get(order=split_order, method="card")
    gift = Payment.objects.get(order=split_order, method="gift_card")
    # then the first 3000 all goes back to the card
    assert (card.refunded_amount, gift.refunded_amount) == (Decimal("3000.00"), Decimal("0.00"))
    with django_capture_on_commit_callbacks(execute=True):
        _return_and_pass_qc(split_order, [b], actor)
    card.refresh_from_db()
    gift.refresh_from_db()
    # and the second spills over: 2000 to the card (all it has left), 1000 to the gift card
    assert (card.refunded_amount, gift.refunded_amount) == (Decimal("5000.00"), Decimal("1000.00"))
    second = Refund.objects.filter(order=split_order).order_by("pk").last()
    assert [(t.instrument, t.amount) for t in second.tenders.order_by("pk")] == [
        ("card", Decimal("2000.00")),
        ("gift_card", Decimal("1000.00")),
    ]
    assert_invariants(split_order)


def test_issuing_twice_moves_money_once(make_order, deliver_order, actor):
    # given a pending refund (its task not run yet)
    order = make_order([("MUG-1", 1, Decimal("300.00"))])
    deliver_order(order)
    _return_and_pass_qc(order, list(order.units.all()), actor)
    refund = Refund.objects.get(order=order)
    assert refund.state == "pending"
    # when the task runs twice (late acknowledgement)
    refund_issue(refund_id=refund.pk)
    refund_issue(refund_id=refund.pk)
    # then the customer got the money once, with one credit note and one ledger row
    assert Payment.objects.get(order=order).refunded_amount == Decimal("300.00")
    assert GatewayRefund.objects.filter(payment__order=order).count() == 1
    assert CreditNote.objects.filter(refund=refund).count() == 1
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    assert order_ledger(order)["balanced"] is True


def test_gateway_failure_keeps_the_refund_failed_until_finance_retries(
    make_order, deliver_order, actor, settings, finance_api, storefront_api
):
    # given a refund whose gateway is down
    settings.OMS_REFUND_GATEWAYS = {"card": "tests.refunds.test_refunds.FailingGateway"}
    order = make_order([("MUG-2", 1, Decimal("300.00"))])
    deliver_order(order)
    ret = _return_and_pass_qc(order, list(order.units.all()), actor)
    refund = Refund.objects.get(order=order)
    # when it is issued
    with pytest.raises(GatewayError):
        refund_issue(refund_id=refund.pk)
    # then it is failed, nothing moved, and the return stays open
    refund.refresh_from_db()
    assert refund.state == "failed"
    assert "unavailable" in refund.failure_reason
    assert Payment.objects.get(order=order).refunded_amount == 0
    ret.refresh_from_db()
    assert ret.state == "received"
    # when the gateway is back and finance retries (storefront may not)
    settings.OMS_REFUND_GATEWAYS = {}
    assert storefront_api.post(f"/api/v1/refunds/{refund.pk}/retry/").status_code == 403
    r = finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/")
    # then it is issued, the return completes, and a second retry is 409
    assert r.status_code == 200, r.json()
    assert r.json()["state"] == "issued"
    assert r.json()["credit_note"].startswith("CN-")
    ret.refresh_from_db()
    assert ret.state == "completed"
    assert finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/").status_code == 409
    assert_invariants(order)


def test_fees_are_withheld_and_shown_on_the_credit_note(
    make_order, deliver_order, actor, django_capture_on_commit_callbacks
):
    # given a policy with a 50 restocking fee and a 79 return-shipping fee
    ReturnPolicy.objects.create(
        version=2, restocking_fee=Decimal("50.00"), return_shipping_fee=Decimal("79.00")
    )
    order = make_order([("MUG-3", 2, Decimal("300.00"))], shipping=Decimal("40.00"))
    deliver_order(order)
    a, _kept = order.units.order_by("pk")
    # when one mug is returned for a change of mind
    with django_capture_on_commit_callbacks(execute=True):
        _return_and_pass_qc(order, [a], actor)
    refund = Refund.objects.get(order=order)
    # then 300 − 50 − 79 comes back, shipping is not refunded (a mug was kept)
    assert refund.amount == Decimal("171.00")
    assert refund.fees_amount == Decimal("129.00")
    assert refund.shipping_amount == Decimal("0.00")
    note = refund.credit_note
    assert note.total == Decimal("171.00")
    assert note.taxable_total + note.tax_total == note.total
    assert {
        "description": "Return fees",
        "total": "-129.00",
        "taxable": "-129.00",
        "tax": "0.00",
    } in note.lines
    assert_invariants(order)
