"""Money on cancellation: cash on delivery is lowered (or voided) instead of
refunded, split tenders are refunded in the policy's order, and mixed
gift card + cash on delivery takes the cash off first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flows.cancellation import order_cancel as order_cancel_units
from flows.delivery import shipment_deliver
from orders.models import Payment, TimelineEvent, Unit
from orders.selectors import order_status, payment_status
from orders.services import PaymentData, shipment_create
from orders.states import PaymentState
from refunds.models import Refund, RefundTender
from returns.models import ReturnPolicy
from tests.cancellation.helpers import owed, retained, unit_ids
from tests.returns.helpers import assert_invariants

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamps(make_sku):
    return make_sku("LAMP-1", Decimal("1000.00"), product="lamp", stock=10)


def _cancel(order, units, actor, capture, reason="test"):
    with capture(execute=True):
        return order_cancel_units(order=order, unit_ids=units, actor=actor, reason=reason)


def _deliver(order, actor, capture, units=None, **kwargs):
    units = units or list(
        Unit.objects.filter(order=order, state__in=["ordered", "allocated"]).values_list(
            "pk", flat=True
        )
    )
    with capture(execute=True):
        shipment = shipment_create(order=order, unit_ids=units, actor=actor)
        return shipment_deliver(shipment_id=shipment.pk, actor=actor, **kwargs)


def _cod(order) -> Payment:
    return Payment.objects.get(order=order, method="cod")


def test_cod_cancel_lowers_what_the_courier_collects(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given a cash-on-delivery order of three lamps with 49 shipping
    order = make_order([("LAMP-1", 3)], shipping=Decimal("49.00"), cod=True)
    first, *_rest = unit_ids(order)
    # when one lamp is cancelled
    result = _cancel(order, [first], actor, django_capture_on_commit_callbacks)
    # then nothing is refunded: the cash due at the door is 1000 lower
    assert result.cod_reduction == Decimal("1000.00")
    assert result.prepaid_due == 0
    assert not Refund.objects.filter(order=order).exists()
    cod = _cod(order)
    assert (cod.amount, cod.captured_amount, cod.state) == (
        Decimal("2049.00"),
        Decimal("0"),
        PaymentState.PENDING,
    )
    row = TimelineEvent.objects.get(order=order, type="payment.amount_reduced")
    assert row.payload["amount_before"] == "3049.00"
    assert row.payload["amount"] == "2049.00"
    # and at the door the courier collects the two lamps and shipping, no more
    delivery = _deliver(order, actor, django_capture_on_commit_callbacks)
    assert delivery.cod_collected == Decimal("2049.00")
    cod.refresh_from_db()
    assert cod.captured_amount == cod.amount == Decimal("2049.00")
    assert retained(order) == owed(order) == Decimal("2049.00")
    assert_invariants(order)


def test_cod_cancel_all_voids_the_cod(lamps, make_order, actor, django_capture_on_commit_callbacks):
    # given a cash-on-delivery order
    order = make_order([("LAMP-1", 2)], shipping=Decimal("49.00"), cod=True)
    # when everything is cancelled
    result = _cancel(order, unit_ids(order), actor, django_capture_on_commit_callbacks)
    # then the cash on delivery is voided, nothing refunded, the order reads cancelled
    assert result.cod_voided
    assert result.cod_reduction == Decimal("2049.00")
    cod = _cod(order)
    assert cod.state == PaymentState.VOIDED
    assert cod.amount == Decimal("2049.00")  # a voided tender keeps what was tendered
    assert not Refund.objects.filter(order=order).exists()
    assert order_status(list(order.units.all())) == "cancelled"
    assert payment_status(list(order.payments.all())) == "voided"
    row = TimelineEvent.objects.get(order=order, type="payment.transition")
    assert (row.from_state, row.to_state) == ("pending", "voided")
    assert_invariants(order)


def test_cod_after_a_delivery_cancelling_the_rest_settles_at_what_was_collected(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given a COD order of three lamps, one delivered and paid in cash (with shipping)
    order = make_order([("LAMP-1", 3)], shipping=Decimal("49.00"), cod=True)
    first, *rest = unit_ids(order)
    delivery = _deliver(order, actor, django_capture_on_commit_callbacks, units=[first])
    assert delivery.cod_collected == Decimal("1049.00")
    # when the other two are cancelled
    _cancel(order, rest, actor, django_capture_on_commit_callbacks)
    # then nothing more is due: the tender is what was collected, no refund
    cod = _cod(order)
    assert (cod.amount, cod.captured_amount, cod.state) == (
        Decimal("1049.00"),
        Decimal("1049.00"),
        PaymentState.CAPTURED,
    )
    assert not Refund.objects.filter(order=order).exists()
    assert payment_status(list(order.payments.all())) == "paid"
    assert order_status(list(order.units.all())) == "delivered"
    assert_invariants(order)


def test_split_tender_is_refunded_in_the_policy_order(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given lamps paid 500 by card and 2500 by gift card
    order = make_order(
        [("LAMP-1", 3)],
        payments=[
            PaymentData("gift_card", Decimal("2500.00")),
            PaymentData("card", Decimal("500.00")),
        ],
    )
    first, second, _third = unit_ids(order)
    # when one lamp is cancelled under the default policy (card before gift card)
    _cancel(order, [first], actor, django_capture_on_commit_callbacks)
    refund = Refund.objects.get(order=order)
    parts = [(t.instrument, t.amount) for t in RefundTender.objects.filter(refund=refund)]
    # then the card gives back all it can, the gift card the rest
    assert parts == [("card", Decimal("500.00")), ("gift_card", Decimal("500.00"))]
    assert refund.state == "issued"
    # and under a policy that puts the gift card first, the gift card goes first
    ReturnPolicy.objects.create(
        version=ReturnPolicy.objects.order_by("-version").first().version + 1,
        tender_order=["gift_card", "card"],
    )
    _cancel(order, [second], actor, django_capture_on_commit_callbacks)
    refund = Refund.objects.filter(order=order).order_by("-pk").first()
    parts = [(t.instrument, t.amount) for t in RefundTender.objects.filter(refund=refund)]
    assert parts == [("gift_card", Decimal("1000.00"))]
    card, gift = (Payment.objects.get(order=order, method=m) for m in ("card", "gift_card"))
    assert card.refunded_amount == Decimal("500.00")
    assert gift.refunded_amount == Decimal("1500.00")
    assert retained(order) == owed(order) == Decimal("1000.00")
    assert_invariants(order)


def test_gift_card_and_cod_take_the_cash_off_first(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given three lamps paid 1000 by gift card, 2000 cash on delivery
    order = make_order(
        [("LAMP-1", 3)],
        payments=[
            PaymentData("gift_card", Decimal("1000.00")),
            PaymentData("cod", Decimal("2000.00")),
        ],
    )
    first, second, _third = unit_ids(order)
    # when one lamp is cancelled, then another
    one = _cancel(order, [first], actor, django_capture_on_commit_callbacks)
    two = _cancel(order, [second], actor, django_capture_on_commit_callbacks)
    # then the cash due comes down to nothing (voided) and the gift card is untouched
    assert (one.cod_reduction, one.prepaid_due) == (Decimal("1000.00"), 0)
    assert (two.cod_reduction, two.prepaid_due, two.cod_voided) == (Decimal("1000.00"), 0, True)
    assert _cod(order).state == PaymentState.VOIDED
    assert not Refund.objects.filter(order=order).exists()
    # and the last lamp, paid by the gift card, arrives with nothing to collect
    delivery = _deliver(order, actor, django_capture_on_commit_callbacks)
    assert delivery.cod_collected == 0
    assert retained(order) == owed(order) == Decimal("1000.00")
    assert_invariants(order)


def test_gift_card_and_cod_refund_the_gift_card_beyond_the_cash(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given three lamps paid 2500 by gift card, 500 cash on delivery
    order = make_order(
        [("LAMP-1", 3)],
        payments=[
            PaymentData("gift_card", Decimal("2500.00")),
            PaymentData("cod", Decimal("500.00")),
        ],
    )
    first, *_ = unit_ids(order)
    # when one lamp is cancelled
    result = _cancel(order, [first], actor, django_capture_on_commit_callbacks)
    # then the 500 of cash is not collected (voided) and 500 goes back to the gift card
    assert (result.cod_reduction, result.prepaid_due) == (Decimal("500.00"), Decimal("500.00"))
    assert _cod(order).state == PaymentState.VOIDED
    refund = Refund.objects.get(order=order)
    assert [(t.instrument, t.amount) for t in refund.tenders.all()] == [
        ("gift_card", Decimal("500.00"))
    ]
    assert refund.breakdown["cod_reduction"] == "500.00"
    # and the two lamps left are delivered with nothing to collect
    delivery = _deliver(order, actor, django_capture_on_commit_callbacks)
    assert delivery.cod_collected == 0
    assert retained(order) == owed(order) == Decimal("2000.00")
    assert_invariants(order)


def test_gift_card_and_cod_after_a_delivery(
    lamps, make_order, actor, django_capture_on_commit_callbacks
):
    # given 1500 by gift card and 1500 cash; the first lamp delivered (paid by the gift card)
    order = make_order(
        [("LAMP-1", 3)],
        payments=[
            PaymentData("gift_card", Decimal("1500.00")),
            PaymentData("cod", Decimal("1500.00")),
        ],
    )
    first, second, _third = unit_ids(order)
    assert (
        _deliver(order, actor, django_capture_on_commit_callbacks, units=[first]).cod_collected == 0
    )
    # when the second is cancelled
    result = _cancel(order, [second], actor, django_capture_on_commit_callbacks)
    # then 1000 less cash is due: 500 of the gift card still pays for the third
    assert (result.cod_reduction, result.prepaid_due) == (Decimal("1000.00"), 0)
    assert _cod(order).amount == Decimal("500.00")
    delivery = _deliver(order, actor, django_capture_on_commit_callbacks)
    assert delivery.cod_collected == Decimal("500.00")
    assert retained(order) == owed(order) == Decimal("2000.00")
    assert_invariants(order)
