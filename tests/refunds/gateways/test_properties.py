"""Property: with gateway tenders in the mix (Razorpay, Stripe and offline,
split at random) and each refund meeting a random gateway behaviour (processed
at once, processed by webhook, failed by webhook then retried by finance, a
5xx then the task's retry), nothing is refunded beyond a tender's capture,
each tender is refunded exactly once at its gateway, the payments' counters
match what the gateways report, and every ledger balances."""

from __future__ import annotations

import itertools

import pytest
from celery.exceptions import Retry
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from flows.return_review import return_approve
from orders.models import Payment, Unit
from refunds.models import Refund, RefundTender
from refunds.tasks import refund_issue_task
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest
from returns.states import ReturnState
from tests.returns.helpers import assert_invariants
from tests.returns.test_properties import DB_SETTINGS, _build_order, order_spec

from .conftest import post_webhook, razorpay_event, stripe_event
from .fake_servers import Step

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)
_events = itertools.count(1)
BEHAVIOURS = ["at_once", "webhook", "failed_then_retry", "5xx_then_retry"]

prepaid_spec = order_spec.flatmap(
    lambda spec: st.sampled_from(["card", "card+gift_card", "upi+wallet"]).map(
        lambda tenders: {**spec, "tenders": tenders}
    )
)


def _pay_through_gateways(order, gateways: list[str]) -> None:
    """Given: each tender was paid through the drawn gateway (with its id)."""
    for payment, gateway in zip(order.payments.order_by("position"), gateways, strict=False):
        n = next(_ids)
        reference = {"razorpay": f"pay_HYP{n:011d}", "stripe": f"pi_HYP{n:021d}"}.get(gateway, "")
        Payment.objects.filter(pk=payment.pk).update(gateway=gateway, reference=reference)


def _report(anon_api, fakes, tender: RefundTender, status: str) -> None:
    """The gateway's webhook about one tender's refund."""
    fake = fakes[tender.gateway]
    event_id = f"evt_hyp_{next(_events)}"
    if tender.gateway == "razorpay":
        entity = fake.set_status(tender.gateway_reference, status)
        event = "refund.processed" if status == "processed" else "refund.failed"
        body, headers = razorpay_event(event, entity, event_id)
    else:
        stripe_status = "succeeded" if status == "processed" else "failed"
        obj = fake.set_status(tender.gateway_reference, stripe_status, failure_reason="unknown")
        body, headers = stripe_event("refund.updated", obj, event_id)
    assert post_webhook(anon_api, tender.gateway, body, headers).status_code == 200


@settings(DB_SETTINGS, max_examples=15)
@given(
    spec=prepaid_spec,
    gateways=st.lists(st.sampled_from(["razorpay", "stripe", "offline"]), min_size=2, max_size=2),
    data=st.data(),
)
def test_gateway_tenders_never_refund_beyond_capture_nor_twice(
    spec,
    gateways,
    data,
    razorpay,
    stripe_fake,
    anon_api,
    finance_api,
    make_sku,
    make_order,
    deliver_order,
    actor,
    django_capture_on_commit_callbacks,
):
    fakes = {"razorpay": razorpay, "stripe": stripe_fake}
    order = _build_order(spec, make_sku, make_order, deliver_order)
    _pay_through_gateways(order, gateways)
    waiting = data.draw(
        st.permutations(list(Unit.objects.filter(order=order).values_list("pk", flat=True))),
        label="sequence",
    )
    while waiting:
        size = data.draw(st.integers(min_value=1, max_value=len(waiting)), label="size")
        group, waiting = waiting[:size], waiting[size:]
        behaviour = data.draw(st.sampled_from(BEHAVIOURS), label="behaviour")
        for fake in fakes.values():
            fake.steps.clear()
            fake.refund_status = (
                {"razorpay": "processed", "stripe": "succeeded"}[fake.kind]
                if behaviour == "at_once"
                else ""
            )
            if behaviour == "5xx_then_retry":
                fake.script(Step(status=502))
        with django_capture_on_commit_callbacks(execute=True):
            ret = return_create(
                ReturnRequest(
                    order=order.number,
                    items=[
                        ItemRequest(reason="changed_mind", resolution="refund", unit=u)
                        for u in group
                    ],
                ),
                actor=actor,
            )
        if ret.state == ReturnState.PENDING_REVIEW:
            with django_capture_on_commit_callbacks(execute=True):
                return_approve(rma=ret.rma, actor=actor)
        events = [
            ReturnEventData(type="pickup_completed"),
            ReturnEventData(type="received", location="wh-main"),
            ReturnEventData(
                type="qc_result", results=[QcResult(unit=u, passed=True) for u in group]
            ),
        ]
        for ev in events:
            try:
                with django_capture_on_commit_callbacks(execute=True):
                    return_handle_event(rma=ret.rma, data=ev, actor=actor)
            except Retry:  # a 5xx: the worker runs the task again after the countdown
                for refund in Refund.objects.filter(return_request=ret, state="failed"):
                    for retries in (1, 2, 3):  # each gateway tender may meet its 5xx once
                        try:
                            refund_issue_task.apply((refund.pk,), retries=retries).get()
                            break
                        except Retry:
                            continue
        for fake in fakes.values():
            fake.steps.clear()
            fake.refund_status = ""
        processing = RefundTender.objects.filter(refund__return_request=ret, state="processing")
        if behaviour == "failed_then_retry":
            for tender in processing:
                _report(anon_api, fakes, tender, "failed")
            for refund in Refund.objects.filter(return_request=ret, state="failed"):
                assert finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/").status_code == 200
        for tender in RefundTender.objects.filter(refund__return_request=ret, state="processing"):
            _report(anon_api, fakes, tender, "processed")
        # then every refund of the return is issued, and money is exact
        assert set(Refund.objects.filter(return_request=ret).values_list("state", flat=True)) <= {
            "issued"
        }
        assert_invariants(order)
    for payment in Payment.objects.filter(order=order):
        tenders = RefundTender.objects.filter(payment=payment)
        processed = tenders.filter(state="processed").aggregate(s=Sum("amount"))["s"] or 0
        assert processed == payment.refunded_amount <= payment.captured_amount
        if payment.gateway not in fakes:
            continue
        fake = fakes[payment.gateway]
        field = "payment_id" if payment.gateway == "razorpay" else "payment_intent"
        done = [
            r
            for r in fake.refunds.values()
            if r.get(field) == payment.reference and r["status"] in ("processed", "succeeded")
        ]
        # one refund at the gateway per tender, for the tender's amount in paise
        assert sorted(r["amount"] for r in done) == sorted(
            int(t.amount * 100) for t in tenders.filter(state="processed")
        )
        assert sum(r["amount"] for r in done) == int(payment.refunded_amount * 100)
