"""Refunds, one trait per status, made the way the product makes them: a
``ReturnFactory`` return is received and passes QC (the refund falls due,
``pending``), then ``refund_issue`` issues it (``issued``), meets a gateway
that is down (``failed``) or one that accepts it and has not reported it
processed yet (``processing``). Amounts, tenders, ledger rows, credit notes, unit
states and the return's state are the services' own.

    RefundFactory()                 # pending, for one returned unit
    RefundFactory(issued=True, units=2)
    RefundFactory(failed=True)      # the gateway refused; the return stays received
    RefundFactory(awaiting_payout=True)  # COD to a UPI id: finance has a payout to make
    RefundFactory(processing=True)  # a gateway accepted it; its webhook will issue it
"""

from __future__ import annotations

import contextlib

import factory
from django.test import override_settings

from refunds.gateways import PROCESSING, GatewayError, GatewayResult
from refunds.models import Refund
from refunds.states import RefundState
from returns.states import RefundMethod, ReturnState

from .returns import ACTOR, DeliveredOrderFactory, ReturnFactory, walk


class UnavailableGateway:
    """A payment gateway that is down: every refund through it fails."""

    name = "unavailable"

    def refund(self, **kwargs):
        raise GatewayError("factory: gateway unavailable")


UNAVAILABLE = {"*": f"{__name__}.UnavailableGateway"}


class AcceptingGateway:
    """A payment gateway that accepts every refund and reports it later."""

    name = "accepting"

    def refund(self, *, idempotency_key, **kwargs):
        return GatewayResult(f"ACC-{idempotency_key}", status=PROCESSING)


ACCEPTING = {"*": f"{__name__}.AcceptingGateway"}


class RefundFactory(factory.django.DjangoModelFactory):
    """The refund of a return of ``units`` units of a new delivered order,
    in ``state``. Traits: ``pending`` (the default), ``issued``, ``failed``,
    ``awaiting_payout`` (a cash-on-delivery order refunded to a UPI id) and
    ``processing``."""

    class Meta:
        model = Refund

    state = RefundState.PENDING
    units = 1
    refund_method = RefundMethod.ORIGINAL

    class Params:
        pending = factory.Trait(state=RefundState.PENDING)
        issued = factory.Trait(state=RefundState.ISSUED)
        failed = factory.Trait(state=RefundState.FAILED)
        awaiting_payout = factory.Trait(state=RefundState.AWAITING_PAYOUT)
        processing = factory.Trait(state=RefundState.PROCESSING)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("refunds only fall due through the return services")

    @classmethod
    def _create(cls, model_class, *, state, units, refund_method):
        from flows.refunds import refund_issue

        if state == RefundState.AWAITING_PAYOUT:
            ret = ReturnFactory(
                received=True,
                units=units,
                order=DeliveredOrderFactory(cod=True, quantity=max(units, 2)),
                refund_method=RefundMethod.BANK_TRANSFER,
                payout={"upi_id": "factory@okaxis"},
            )
        else:
            ret = ReturnFactory(received=True, units=units, refund_method=refund_method)
        walk(ret, "qc_passed")
        refund = Refund.objects.get(return_request=ret)
        if state in (RefundState.ISSUED, RefundState.AWAITING_PAYOUT):
            refund_issue(refund_id=refund.pk, actor=ACTOR)
        elif state == RefundState.FAILED:
            with (
                override_settings(OMS_REFUND_GATEWAYS=UNAVAILABLE),
                contextlib.suppress(GatewayError),
            ):
                refund_issue(refund_id=refund.pk, actor=ACTOR)
        elif state == RefundState.PROCESSING:
            with override_settings(OMS_REFUND_GATEWAYS=ACCEPTING):
                refund_issue(refund_id=refund.pk, actor=ACTOR)
        elif state != RefundState.PENDING:
            raise ValueError(f"no path to a {state!r} refund")
        refund = Refund.objects.select_related("order", "return_request").get(pk=refund.pk)
        if refund.state != state:
            raise ValueError(f"refund {refund.pk} ended {refund.state}, not {state}")
        expected = ReturnState.COMPLETED if state == RefundState.ISSUED else ReturnState.RECEIVED
        if refund.return_request.state != expected:
            raise ValueError(f"{refund.return_request.rma} is {refund.return_request.state}")
        return refund
