"""The sweep's cost per chunk does not grow with its legs: it decides in
memory and applies the common breach actions in bulk, writing what a check of
one leg writes, and falls back to one leg at a time when the bulk apply fails."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import flows.sla
from flows.return_intake import return_create
from flows.sla import sla_check_leg, sla_sweep
from oms.models import Job
from orders.events import EventActor
from orders.models import OutboundMessage, ProcessedEvent, TimelineEvent, Unit
from orders.states import UnitState
from returns.models import Return, ReturnPolicy
from returns.services import ItemRequest, ReturnRequest
from sla.models import Leg

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_returns(make_sku, make_order, deliver_order):
    """n approved refund-only returns of 2 units, each on its own order, under
    the current policy; their pickup legs are not due."""
    make_sku("SWEEP-TEE", Decimal("500.00"), stock=500)

    def make(n: int) -> list[Return]:
        out = []
        for _ in range(n):
            order = make_order([("SWEEP-TEE", 2)])
            deliver_order(order)
            units = list(order.units.order_by("pk").values_list("pk", flat=True))
            out.append(
                return_create(
                    ReturnRequest(
                        order=order.number,
                        items=[
                            ItemRequest(unit=u, reason="changed_mind", resolution="refund")
                            for u in units
                        ],
                    ),
                    actor=EventActor.system("test"),
                )
            )
        return out

    return make


def _policy(**fields) -> ReturnPolicy:
    version = (
        ReturnPolicy.objects.order_by("-version").values_list("version", flat=True).first() or 0
    ) + 1
    base = {
        "sla_hours": {"pickup": 48, "qc": 24, "refund": 24},
        "max_pickup_attempts": 3,
        "keep_it_max_value": Decimal("0"),
        "instant_refund_max": Decimal("0"),
    }
    return ReturnPolicy.objects.create(version=version, **{**base, **fields})


def _make_due(returns: list[Return], now) -> None:
    Leg.objects.filter(leg="pickup", return_request__in=returns).update(
        started_at=now - timedelta(hours=60),
        at_risk_at=now - timedelta(hours=21),
        due_at=now - timedelta(hours=12),
    )


def _sweep_counted(now) -> tuple[list, int]:
    with CaptureQueriesContext(connection) as ctx:
        outcomes = sla_sweep(now=now)
    return outcomes, len(ctx.captured_queries)


def test_statements_of_a_chunk_do_not_grow_with_its_breached_legs(make_returns):
    # given 25 returns whose pickup clocks run
    _policy()
    returns = make_returns(25)
    now = timezone.now()
    messages = OutboundMessage.objects.count()

    # when the sweep breaches 5 missed pickups, then (another sweep) 20
    _make_due(returns[:5], now)
    five, count_5 = _sweep_counted(now)
    _make_due(returns[5:], now)
    twenty, count_20 = _sweep_counted(now)

    # then each was rescheduled with one customer message
    assert [o.action for o in five] == ["rescheduled"] * 5
    assert [o.action for o in twenty] == ["rescheduled"] * 20
    assert OutboundMessage.objects.count() - messages == 25
    # and the chunk of 20 took the statements of the chunk of 5: a constant
    assert count_20 == count_5, (count_5, count_20)
    assert count_5 <= 30, count_5


def test_statements_of_at_risk_marks_do_not_grow_with_the_legs(make_returns):
    _policy()
    returns = make_returns(12)
    now = timezone.now()
    Leg.objects.filter(leg="pickup", return_request__in=returns[:3]).update(
        at_risk_at=now - timedelta(hours=1)
    )
    three, count_3 = _sweep_counted(now)
    Leg.objects.filter(leg="pickup", return_request__in=returns[3:]).update(
        at_risk_at=now - timedelta(hours=1)
    )
    nine, count_9 = _sweep_counted(now)
    assert [o.what for o in three] == ["at_risk"] * 3
    assert [o.what for o in nine] == ["at_risk"] * 9
    assert count_9 == count_3, (count_3, count_9)
    assert Leg.objects.filter(state="at_risk").count() == 12
    assert TimelineEvent.objects.filter(type="sla.leg_at_risk").count() == 12


def _rows(ret: Return, after: int) -> list[tuple]:
    """The return's order's timeline rows after ``after``, without ids."""
    rows = []
    for e in TimelineEvent.objects.filter(order_id=ret.order_id, pk__gt=after).order_by("pk"):
        payload = {k: v for k, v in e.payload.items() if k != "to"}
        rows.append(
            (
                e.entity,
                e.type,
                e.from_state,
                e.to_state,
                e.actor_kind,
                e.actor_label,
                re.sub(r"\(leg \d+\)", "(leg #)", e.message.replace(ret.rma, "RMA")),
                str(payload).replace(ret.rma, "RMA"),
            )
        )
    return rows


def _state(ret: Return) -> tuple:
    ret.refresh_from_db()
    legs = [
        (g.leg, g.attempt, g.state, g.owner_team, g.hours, g.action, g.action_reason)
        for g in Leg.objects.filter(return_request=ret).order_by("pk")
    ]
    messages = [
        (m.template, m.subject.replace(ret.rma, "RMA"), m.body, m.state)
        for m in OutboundMessage.objects.filter(
            order_id=ret.order_id, template__startswith="sla_"
        ).order_by("pk")
    ]
    jobs = Job.objects.filter(task="orders.tasks.message_deliver_task").count()
    claimed = ProcessedEvent.objects.filter(source=f"return:{ret.rma}").count()
    return ret.state, ret.pickup_attempts, legs, messages, jobs > 0, claimed


def test_the_bulk_sweep_writes_what_the_check_of_one_leg_writes(make_returns):
    # given two returns alike whose pickups were missed
    _policy()
    one, bulk = make_returns(2)
    now = timezone.now()
    _make_due([one, bulk], now)
    mark = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    # when one leg is checked on its own and the other breached by the sweep
    leg = Leg.objects.get(return_request=one, leg="pickup")
    single = sla_check_leg(leg_id=leg.pk, now=now)
    swept = [o for o in sla_sweep(now=now) if o.what == "breached"]

    # then both did the same: the same rows, states, legs and message
    assert single.action == "rescheduled"
    assert [(o.leg.return_request_id, o.action, o.reason) for o in swept] == [
        (bulk.pk, single.action, single.reason)
    ]
    assert _rows(bulk, mark) == _rows(one, mark)
    assert [r[1] for r in _rows(bulk, mark)] == [
        "return.pickup_failed",
        "sla.leg_started",
        "sla.leg_breached",
        "message.queued",
    ]
    assert _state(bulk) == _state(one)


def test_a_chunk_mixes_bulk_actions_and_leg_by_leg_ones_in_leg_order(make_returns):
    # given a return whose missed pickup is booked again (bulk), and one under
    # a policy of one attempt with a keep-it limit above its value (leg by leg)
    _policy()
    again = make_returns(1)[0]
    _policy(max_pickup_attempts=1, keep_it_max_value=Decimal("5000.00"))
    keep = make_returns(1)[0]
    now = timezone.now()
    _make_due([again, keep], now)
    # the booked-again one fell due a minute later (equal due times leave
    # their order to the database)
    Leg.objects.filter(leg="pickup", return_request=again).update(
        due_at=now - timedelta(hours=12) + timedelta(minutes=1)
    )
    messages = OutboundMessage.objects.filter(template__startswith="sla_").count()

    # when the sweep runs
    out = sla_sweep(now=now)

    # then each leg was acted on once, in the order of their due times
    assert sorted((o.leg.return_request_id, o.action) for o in out) == sorted(
        [(again.pk, "rescheduled"), (keep.pk, "converted_to_keep")]
    )
    assert [o.leg.pk for o in out] == list(
        Leg.objects.filter(pk__in=[o.leg.pk for o in out])
        .order_by("due_at")
        .values_list("pk", flat=True)
    )
    assert OutboundMessage.objects.filter(template__startswith="sla_").count() - messages == 2
    assert set(keep.items.values_list("unit__state", flat=True)) == {UnitState.KEPT}
    again.refresh_from_db()
    assert again.pickup_attempts == 1


def test_an_error_in_the_bulk_apply_leaves_each_leg_to_its_own_check(make_returns, monkeypatch):
    # given three missed pickups, and a bulk apply that fails half-way
    _policy()
    returns = make_returns(3)
    now = timezone.now()
    _make_due(returns, now)

    def broken(*args, **kwargs):
        raise RuntimeError("bulk apply broke")

    monkeypatch.setattr(flows.sla, "legs_start_many", broken)
    messages = OutboundMessage.objects.count()

    # when the sweep runs
    out = sla_sweep(now=now)

    # then nothing of the failed bulk stayed, and each leg was acted on once
    assert [o.action for o in out] == ["rescheduled"] * 3
    assert OutboundMessage.objects.count() - messages == 3
    for ret in returns:
        ret.refresh_from_db()
        assert ret.pickup_attempts == 1
        legs = Leg.objects.filter(return_request=ret, leg="pickup")
        assert [(g.attempt, g.state) for g in legs.order_by("pk")] == [
            (1, "breached"),
            (2, "running"),
        ]
        assert (
            TimelineEvent.objects.filter(order_id=ret.order_id, type="sla.leg_breached").count()
            == 1
        )
        assert (
            TimelineEvent.objects.filter(order_id=ret.order_id, type="return.pickup_failed").count()
            == 1
        )


def test_a_return_that_changed_more_than_the_attempt_count_is_checked_on_its_own(
    make_returns, monkeypatch
):
    # given a missed pickup of a return one of whose units is already picked up
    # (the return event's reactions may do more than count the attempt)
    _policy()
    ret = make_returns(1)[0]
    Unit.objects.filter(pk=ret.items.order_by("pk").first().unit_id).update(
        state=UnitState.RETURN_IN_TRANSIT
    )
    now = timezone.now()
    _make_due([ret], now)
    bulk_calls = []
    real = flows.sla.return_pickup_failed_many
    monkeypatch.setattr(
        flows.sla,
        "return_pickup_failed_many",
        lambda *a, **k: bulk_calls.append(a) or real(*a, **k),
    )

    # when the sweep runs
    out = sla_sweep(now=now)

    # then the leg was checked on its own, not in bulk, and rescheduled
    assert bulk_calls == []
    assert [o.action for o in out] == ["rescheduled"]
    ret.refresh_from_db()
    assert ret.pickup_attempts == 1


@pytest.mark.parametrize(
    ("stage", "leg_kind", "action"),
    [
        ("received", "qc", "escalated_to_supervisor"),
        ("qc_passed", "refund", "escalated_to_finance"),
    ],
)
def test_bulk_escalations_write_what_the_check_of_one_leg_writes(
    make_returns, warehouse_api, stage, leg_kind, action
):
    # given two returns alike at the same stage: received (QC above the
    # auto-pass limit) or passed QC with the refund not issued
    _policy(qc_auto_pass_max=Decimal("0"))
    one, bulk = make_returns(2)
    for ret in (one, bulk):
        events = [{"type": "pickup_completed"}, {"type": "received", "location": "wh-main"}]
        if stage == "qc_passed":
            units = list(ret.items.order_by("pk").values_list("unit_id", flat=True))
            events.append(
                {"type": "qc_result", "results": [{"unit": u, "passed": True} for u in units]}
            )
        for body in events:
            r = warehouse_api.post(f"/api/v1/returns/{ret.rma}/events/", body, format="json")
            assert r.status_code == 200, r.json()
    now = timezone.now()
    Leg.objects.filter(leg=leg_kind, state="running").update(
        at_risk_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1)
    )
    mark = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    # when one leg is checked on its own and the other breached by the sweep
    single = sla_check_leg(leg_id=Leg.objects.get(return_request=one, leg=leg_kind).pk, now=now)
    swept = [o for o in sla_sweep(now=now) if o.what == "breached"]

    # then both did the same
    assert single.action == action
    assert [(o.leg.return_request_id, o.action, o.reason) for o in swept] == [
        (bulk.pk, single.action, single.reason)
    ]
    assert _rows(bulk, mark) == _rows(one, mark)
    assert "sla.leg_breached" in [r[1] for r in _rows(bulk, mark)]
    assert _state(bulk) == _state(one)
