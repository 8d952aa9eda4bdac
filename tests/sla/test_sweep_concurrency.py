"""Three sweeps racing over the same due legs on PostgreSQL (real threads,
each with its own connection): every leg is breached and acted on once, the
customer gets one message per breach, and nothing deadlocks."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from flows.return_intake import return_create
from flows.sla import sla_sweep
from orders.events import EventActor
from orders.models import OutboundMessage
from returns.models import Return, ReturnPolicy
from returns.services import ItemRequest, ReturnRequest
from sla.models import Leg

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RETURNS = 6
SWEEPS = 3


def test_racing_sweeps_act_on_each_due_leg_once(make_sku, make_order, deliver_order):
    # given 6 approved returns whose pickup legs are 12 hours overdue
    ReturnPolicy.objects.create(
        version=2,
        sla_hours={"pickup": 48, "qc": 24, "refund": 24},
        max_pickup_attempts=3,
        keep_it_max_value=Decimal("0"),
        instant_refund_max=Decimal("0"),
    )
    make_sku("RACE-TEE", Decimal("500.00"), stock=20)
    rmas = []
    for _ in range(RETURNS):
        order = make_order([("RACE-TEE", 2)])
        deliver_order(order)
        units = list(order.units.order_by("pk").values_list("pk", flat=True))
        ret = return_create(
            ReturnRequest(
                order=order.number,
                items=[
                    ItemRequest(unit=u, reason="changed_mind", resolution="refund") for u in units
                ],
            ),
            actor=EventActor.system("test"),
        )
        rmas.append(ret.rma)
    now = timezone.now()
    Leg.objects.filter(leg="pickup").update(
        started_at=now - timedelta(hours=60),
        at_risk_at=now - timedelta(hours=21),
        due_at=now - timedelta(hours=12),
    )
    messages_before = OutboundMessage.objects.count()

    # when three sweeps run at the same instant in three threads
    barrier = threading.Barrier(SWEEPS, timeout=10)
    results: dict[int, object] = {}

    def sweep(i: int) -> None:
        try:
            barrier.wait()
            results[i] = [o for o in sla_sweep(now=now) if o.what == "breached"]
        except Exception as exc:  # the test inspects what each thread raised
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(SWEEPS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a sweep hung (deadlock?)"

    # then no sweep failed, and together they breached each leg exactly once
    assert not [r for r in results.values() if isinstance(r, Exception)], results
    breached = [o.leg.pk for r in results.values() for o in r]  # type: ignore[union-attr]
    assert sorted(breached) == sorted(
        Leg.objects.filter(leg="pickup", attempt=1).values_list("pk", flat=True)
    )
    for rma in rmas:
        ret = Return.objects.get(rma=rma)
        assert ret.pickup_attempts == 1
        legs = Leg.objects.filter(return_request=ret, leg="pickup")
        assert legs.filter(attempt=1, state="breached").count() == 1
        assert legs.filter(attempt=2, state="running").count() == 1
    # and each customer got one message for their breach
    new = OutboundMessage.objects.order_by("pk")[messages_before:]
    assert [m.template for m in new] == ["sla_pickup_breach"] * RETURNS
