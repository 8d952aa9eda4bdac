"""SLA legs, one trait per status, started and moved by the SLA services.

A leg is never inserted by hand: a ``ReturnFactory`` return is walked to the
point where the leg's clock starts (``sla_sync`` starts it), then
``sla_check_leg`` marks it at risk or breaches it at the leg's own 80% and due
times (so the breach action runs, as the sweep would run it), or the
completing event, or the return's cancellation, closes it.

    LegFactory()                              # running pickup leg
    LegFactory(kind="qc", at_risk=True)
    LegFactory(kind="refund", breached=True)  # escalated to finance
    LegFactory(kind="exchange_dispatch", completed=True)
"""

from __future__ import annotations

import factory

from sla.models import Leg
from sla.states import LegKind, LegState

from .returns import ReturnFactory, walk

# kind -> (how the return is made, the steps that start the leg)
STARTS = {
    LegKind.PICKUP: ({"approved": True}, ()),
    LegKind.QC: ({"received": True}, ()),
    LegKind.EXCHANGE_DISPATCH: ({"approved": True, "exchange": True}, ()),
    LegKind.REFUND: ({"received": True}, ("qc_passed",)),
}
# kind -> the step that completes the leg
COMPLETES = {
    LegKind.PICKUP: "pickup_completed",
    LegKind.QC: "qc_passed",
    LegKind.EXCHANGE_DISPATCH: "settle",
    LegKind.REFUND: "settle",
}
# Legs close as cancelled only when their return is cancelled, which is
# possible only before pickup.
CANCELLABLE = {LegKind.PICKUP, LegKind.EXCHANGE_DISPATCH}


class LegFactory(factory.django.DjangoModelFactory):
    """The first ``kind`` leg of a new return, in ``state``. Traits:
    ``running`` (the default), ``at_risk``, ``breached``, ``completed``,
    ``cancelled`` (pickup and exchange-dispatch legs only)."""

    class Meta:
        model = Leg

    kind = LegKind.PICKUP
    state = LegState.RUNNING

    class Params:
        running = factory.Trait(state=LegState.RUNNING)
        at_risk = factory.Trait(state=LegState.AT_RISK)
        breached = factory.Trait(state=LegState.BREACHED)
        completed = factory.Trait(state=LegState.COMPLETED)
        cancelled = factory.Trait(state=LegState.CANCELLED)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("legs are only started by the SLA services")

    @classmethod
    def _create(cls, model_class, *, kind, state):
        from flows.sla import sla_check_leg

        if kind not in STARTS:
            raise ValueError(f"unknown leg kind {kind!r}")
        if state == LegState.CANCELLED and kind not in CANCELLABLE:
            raise ValueError(f"a {kind} leg cannot be cancelled: its return is past pickup")
        traits, steps = STARTS[kind]
        ret = ReturnFactory(**traits)
        for step in steps:
            walk(ret, step)
        leg = Leg.objects.get(return_request=ret, leg=kind, attempt=1)
        if state == LegState.AT_RISK:
            sla_check_leg(leg_id=leg.pk, now=leg.at_risk_at)
        elif state == LegState.BREACHED:
            sla_check_leg(leg_id=leg.pk, now=leg.due_at)
        elif state == LegState.COMPLETED:
            walk(ret, COMPLETES[kind])
        elif state == LegState.CANCELLED:
            walk(ret, "cancelled")
        elif state != LegState.RUNNING:
            raise ValueError(f"no path to a {state!r} leg")
        leg = Leg.objects.select_related("return_request").get(pk=leg.pk)
        if leg.state != state:
            raise ValueError(f"leg {leg.pk} ended {leg.state}, not {state}")
        return leg
