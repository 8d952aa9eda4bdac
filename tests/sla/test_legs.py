"""Each leg's start, completion, at-risk, breach and breach decision, with a
controlled clock."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from flows.sla import sla_check_leg, sla_sweep
from orders.models import OutboundMessage
from orders.states import UnitState
from refunds.models import Refund
from returns.models import Return
from sla.models import BusinessCalendar, Leg, SlaRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(clock, make_sku, make_order, deliver_order):
    make_sku("TEE-M", Decimal("999.00"), product="tee", stock=20, attributes={"size": "M"})
    make_sku("TEE-L", Decimal("999.00"), product="tee", stock=20, attributes={"size": "L"})
    o = make_order([("TEE-M", 3, Decimal("999.00"))])
    deliver_order(o, delivered_at=clock.now - timedelta(days=1))
    return o


def _create(api, order, resolution="refund", n=1, **item):
    units = list(order.units.order_by("pk").values_list("pk", flat=True))[:n]
    body = {
        "order": order.number,
        "items": [
            {"unit": u, "reason": "size_too_small", "resolution": resolution, **item} for u in units
        ],
    }
    r = api.post("/api/v1/returns/", body, format="json")
    assert r.status_code == 201, r.json()
    return Return.objects.get(rma=r.json()["rma"]), units


def _event(api, rma, body):
    r = api.post(f"/api/v1/returns/{rma}/events/", body, format="json")
    assert r.status_code == 200, r.json()
    return r.json()


def _legs(ret):
    return {(g.leg, g.attempt): g for g in Leg.objects.filter(return_request=ret)}


def test_legs_start_and_complete_on_their_events(
    clock, policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    policy()
    # given a new return: the pickup clock starts at approval, due in 48h
    ret, units = _create(storefront_api, order)
    pickup = _legs(ret)[("pickup", 1)]
    assert pickup.state == "running"
    assert pickup.started_at == clock.now
    assert pickup.due_at == clock.now + timedelta(hours=48)
    assert pickup.at_risk_at == clock.now + timedelta(hours=48 * 0.8)
    assert pickup.owner_team == "logistics"
    # when the courier picks up, the pickup leg completes; receipt starts QC
    clock.set(clock.now + timedelta(hours=5))
    _event(warehouse_api, ret.rma, {"type": "pickup_completed"})
    clock.set(clock.now + timedelta(hours=20))
    _event(warehouse_api, ret.rma, {"type": "received", "location": "wh-main"})
    legs = _legs(ret)
    assert legs[("pickup", 1)].state == "completed"
    assert legs[("qc", 1)].state == "running"
    assert legs[("qc", 1)].due_at == clock.now + timedelta(hours=24)
    # QC pass makes the refund due: the refund leg runs until it is issued
    with django_capture_on_commit_callbacks(execute=False):
        _event(
            warehouse_api,
            ret.rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": True}]},
        )
    legs = _legs(ret)
    assert legs[("qc", 1)].state == "completed"
    assert legs[("refund", 1)].state == "running"
    assert legs[("refund", 1)].owner_team == "finance"
    from flows.refunds import refund_issue

    refund_issue(refund_id=Refund.objects.get(return_request=ret).pk)
    assert _legs(ret)[("refund", 1)].state == "completed"
    # and the API shows every leg
    body = storefront_api.get(f"/api/v1/returns/{ret.rma}/").json()
    assert [(s["leg"], s["state"]) for s in body["sla"]] == [
        ("pickup", "completed"),
        ("qc", "completed"),
        ("refund", "completed"),
    ]
    assert set(body["sla"][0]) >= {
        "leg",
        "state",
        "started_at",
        "due_at",
        "completed_at",
        "breached_at",
        "action",
    }
    timeline = [
        e["type"] for e in storefront_api.get(f"/api/v1/orders/{order.number}/timeline/").json()
    ]
    assert timeline.count("sla.leg_started") == 3
    assert timeline.count("sla.leg_completed") == 3


def test_business_hours_rule_per_type_and_channel(clock, policy, order, storefront_api):
    p = policy()
    cal = BusinessCalendar.objects.create(
        name="Mon-Fri", day_start=time(10), day_end=time(19), workdays=[0, 1, 2, 3, 4]
    )
    SlaRule.objects.create(
        policy=p,
        leg="pickup",
        return_type="partial_return",
        channel="web",
        hours=Decimal("9"),
        calendar=cal,
        owner_team="courier-desk",
    )
    SlaRule.objects.create(policy=p, leg="pickup", hours=Decimal("100"))  # less specific: ignored
    clock.set(clock.now.replace(day=27, hour=15))  # Friday 15:00 IST
    ret, _ = _create(storefront_api, order)
    leg = _legs(ret)[("pickup", 1)]
    # 4h on Friday, weekend skipped, 5h on Monday
    assert leg.due_at == clock.now.replace(day=30, hour=15)
    assert leg.owner_team == "courier-desk"


def test_at_risk_at_80_percent_and_listed_for_the_queue(
    clock, policy, order, storefront_api, agent_api
):
    policy()
    ret, _ = _create(storefront_api, order)
    start = clock.now
    # before 80% nothing happens
    assert sla_sweep(now=start + timedelta(hours=38)) == []
    outcomes = sla_sweep(now=start + timedelta(hours=39))
    assert [o.what for o in outcomes] == ["at_risk"]
    assert _legs(ret)[("pickup", 1)].state == "at_risk"
    listed = agent_api.get("/api/v1/sla/legs/?state=at_risk").json()["results"]
    assert [(x["rma"], x["leg"]) for x in listed] == [(ret.rma, "pickup")]
    assert agent_api.get("/api/v1/sla/legs/?state=bogus").status_code == 400


def test_pickup_breach_reschedules_then_cancels(clock, policy, order, storefront_api):
    policy(max_pickup_attempts=2, keep_it_max_value=Decimal("0"))
    ret, units = _create(storefront_api, order)
    start = clock.now
    # first breach: rescheduled, a new pickup leg runs, the customer is told
    out = sla_sweep(now=start + timedelta(hours=48))
    assert [(o.what, o.action) for o in out] == [("breached", "rescheduled")]
    ret.refresh_from_db()
    assert ret.pickup_attempts == 1
    legs = _legs(ret)
    assert legs[("pickup", 1)].state == "breached"
    assert legs[("pickup", 2)].state == "running"
    assert OutboundMessage.objects.filter(order=order, template="sla_pickup_breach").exists()
    # second breach: attempts used up and above the keep-it limit → cancelled
    out = sla_sweep(now=start + timedelta(hours=97))
    assert [(o.what, o.action) for o in out] == [("breached", "cancelled")]
    ret.refresh_from_db()
    assert ret.state == "cancelled"
    assert order.units.get(pk=units[0]).state == UnitState.DELIVERED


def test_pickup_breach_converts_to_keep_it_under_the_value_limit(
    clock, policy, order, storefront_api, django_capture_on_commit_callbacks
):
    policy(max_pickup_attempts=1, keep_it_max_value=Decimal("1000.00"))
    ret, units = _create(storefront_api, order)
    with django_capture_on_commit_callbacks(execute=True):
        out = sla_sweep(now=clock.now + timedelta(hours=48))
    assert [(o.what, o.action) for o in out] == [("breached", "converted_to_keep")]
    assert order.units.get(pk=units[0]).state == UnitState.KEPT
    refund = Refund.objects.get(return_request=ret)
    assert refund.kind == "keep_it"
    assert refund.state == "issued"
    assert refund.amount == Decimal("999.00")


def test_qc_breach_auto_passes_low_risk_low_value(
    clock, policy, order, storefront_api, warehouse_api
):
    policy(qc_auto_pass_max=Decimal("2000.00"))
    ret, units = _create(storefront_api, order)
    _event(warehouse_api, ret.rma, {"type": "pickup_completed"})
    _event(warehouse_api, ret.rma, {"type": "received", "location": "wh-main"})
    out = sla_sweep(now=clock.now + timedelta(hours=24))
    assert [(o.leg.leg, o.action) for o in out] == [("qc", "auto_passed")]
    assert order.units.get(pk=units[0]).state == UnitState.PENDING_REFUND
    assert Refund.objects.filter(return_request=ret, state="pending").exists()


def test_qc_breach_escalates_when_value_is_high(
    clock, policy, order, storefront_api, warehouse_api, supervisor_api
):
    policy(qc_auto_pass_max=Decimal("100.00"))
    ret, units = _create(storefront_api, order)
    _event(warehouse_api, ret.rma, {"type": "pickup_completed"})
    _event(warehouse_api, ret.rma, {"type": "received", "location": "wh-main"})
    out = sla_sweep(now=clock.now + timedelta(hours=24))
    assert [(o.leg.leg, o.action) for o in out] == [("qc", "escalated_to_supervisor")]
    assert order.units.get(pk=units[0]).state == UnitState.RETURNED
    breached = supervisor_api.get("/api/v1/sla/legs/?state=breached").json()["results"]
    assert breached[0]["action"] == "escalated_to_supervisor"


def test_exchange_breach_moves_to_another_location_then_converts_to_refund(
    clock, policy, order, storefront_api, warehouse_api, make_sku
):
    from inventory.models import Location
    from inventory.services import location_upsert, stock_adjust

    policy(exchange_dispatch_before_receipt=True)
    store, _ = location_upsert(code="store-1", name="Store", kind="store")
    from inventory.models import SKU

    stock_adjust(
        sku=SKU.objects.get(code="TEE-L"),
        location=store,
        bucket="sellable",
        quantity=1,
        reason="count",
    )
    ret, _units = _create(storefront_api, order, resolution="exchange", exchange_sku="TEE-L")
    assert _legs(ret)[("exchange_dispatch", 1)].state == "running"
    # first breach: the reservation moves to the store that has stock
    out = sla_sweep(now=clock.now + timedelta(hours=24))
    assert [(o.leg.leg, o.action) for o in out if o.what == "breached"] == [
        ("exchange_dispatch", "relocated")
    ]
    assert ret.items.get().reserved_at == Location.objects.get(code="store-1")
    # second breach: nowhere else has stock → converted to a refund
    out = sla_sweep(now=clock.now + timedelta(hours=49))
    assert ("exchange_dispatch", "converted_to_refund") in [
        (o.leg.leg, o.action) for o in out if o.what == "breached"
    ]
    assert ret.items.get().resolution == "refund"


def test_refund_breach_escalates_to_finance_and_tells_the_customer(
    clock, policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    policy()
    ret, units = _create(storefront_api, order)
    _event(warehouse_api, ret.rma, {"type": "pickup_completed"})
    _event(warehouse_api, ret.rma, {"type": "received", "location": "wh-main"})
    with django_capture_on_commit_callbacks(execute=False):  # the gateway never answers
        _event(
            warehouse_api,
            ret.rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": True}]},
        )
    out = sla_sweep(now=clock.now + timedelta(hours=12))
    assert [(o.leg.leg, o.action) for o in out] == [("refund", "escalated_to_finance")]
    assert Refund.objects.get(return_request=ret).escalated_at is not None
    msg = OutboundMessage.objects.get(order=order, template="sla_refund_breach")
    assert "expect it by" in msg.body


def test_a_leg_is_escalated_once_however_often_the_sweep_runs(clock, policy, order, storefront_api):
    policy(max_pickup_attempts=5)
    ret, _ = _create(storefront_api, order)
    leg = _legs(ret)[("pickup", 1)]
    due = leg.due_at
    first = sla_check_leg(leg_id=leg.pk, now=due)
    assert first.action == "rescheduled"
    assert sla_check_leg(leg_id=leg.pk, now=due) is None
    # the sweep finds the rescheduled leg not yet due and does nothing more
    assert [o for o in sla_sweep(now=due) if o.what == "breached"] == []
    ret.refresh_from_db()
    assert ret.pickup_attempts == 1


def test_sla_sweep_command_prints_one_line_per_leg(clock, policy, order, storefront_api):
    policy()
    ret, _ = _create(storefront_api, order)
    at = (clock.now + timedelta(hours=48)).isoformat()
    out = StringIO()
    call_command("sla_sweep", "--at", at, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("leg ")
    assert ret.rma in lines[0]
    assert "rescheduled" in lines[0]
    assert lines[-1].endswith("1 leg(s) acted on")


def test_cancelled_return_cancels_its_open_legs(
    clock, policy, order, storefront_api, warehouse_api
):
    policy()
    ret, _ = _create(storefront_api, order)
    _event(warehouse_api, ret.rma, {"type": "cancelled", "reason": "customer changed their mind"})
    assert _legs(ret)[("pickup", 1)].state == "cancelled"
    assert sla_sweep(now=clock.now + timedelta(days=10)) == []


def test_refund_breach_email_names_the_new_date_in_ist_after_midnight(
    clock, policy, order, storefront_api, warehouse_api, django_capture_on_commit_callbacks
):
    # given a refund leg that started at 11:00 IST, with the clock in UTC as in
    # production
    clock.set(datetime(2026, 11, 23, 5, 30, tzinfo=UTC))
    policy()
    ret, units = _create(storefront_api, order)
    _event(warehouse_api, ret.rma, {"type": "pickup_completed"})
    _event(warehouse_api, ret.rma, {"type": "received", "location": "wh-main"})
    with django_capture_on_commit_callbacks(execute=False):  # the gateway never answers
        _event(
            warehouse_api,
            ret.rma,
            {"type": "qc_result", "results": [{"unit": units[0], "passed": True}]},
        )
    # when the sweep finds it breached at 00:30 IST on 24 Nov (23 Nov in UTC)
    out = sla_sweep(now=datetime(2026, 11, 23, 19, 0, tzinfo=UTC))
    assert [(o.leg.leg, o.action) for o in out] == [("refund", "escalated_to_finance")]
    # then the customer is promised 48 h later in their own calendar: Thu 26 Nov
    # 00:30 IST (UTC would say Wed 25 Nov)
    msg = OutboundMessage.objects.get(order=order, template="sla_refund_breach")
    assert "expect it by Thu 26 Nov 2026." in msg.body, msg.body


def test_a_breach_action_syncs_sla_once_after_the_return_changed(
    clock, policy, order, storefront_api, monkeypatch
):
    import flows.reactions
    import flows.sla

    policy()
    ret, _ = _create(storefront_api, order)
    inner, outer = [], []
    monkeypatch.setattr(flows.reactions, "sla_sync", lambda *a, **k: inner.append(a))
    real = flows.sla.sla_sync
    monkeypatch.setattr(flows.sla, "sla_sync", lambda *a, **k: outer.append(a) or real(*a, **k))
    # when the pickup leg breaches and the system reschedules the pickup
    clock.set(clock.now + timedelta(hours=49))
    outcome = sla_check_leg(leg_id=_legs(ret)[("pickup", 1)].pk)
    # then the return's reactions did not re-enter sla; sla synced once, after
    assert outcome.action == "rescheduled"
    assert inner == []
    assert len(outer) == 1
    assert _legs(ret)[("pickup", 2)].state == "running"


def test_a_missed_pickup_sends_the_customer_one_message(clock, policy, order, storefront_api):
    # given an approved return whose pickup clock runs
    policy(max_pickup_attempts=2)
    ret, _ = _create(storefront_api, order)
    before = set(OutboundMessage.objects.filter(order=order).values_list("pk", flat=True))

    # when the pickup is missed and the sweep reschedules it
    out = sla_sweep(now=clock.now + timedelta(hours=48))

    # then the customer gets one message, the breach's own, and the return's
    # timeline still records the failed pickup
    assert [(o.what, o.action) for o in out] == [("breached", "rescheduled")]
    new = OutboundMessage.objects.filter(order=order).exclude(pk__in=before)
    assert list(new.values_list("template", flat=True)) == ["sla_pickup_breach"]
    ret.refresh_from_db()
    assert ret.pickup_attempts == 1


def test_a_courier_reported_failed_pickup_still_emails_the_customer(
    policy, order, storefront_api, warehouse_api
):
    # given an approved return
    policy()
    ret, _ = _create(storefront_api, order)

    # when the courier reports a failed pickup (no SLA breach involved)
    _event(warehouse_api, ret.rma, {"type": "pickup_failed", "reason": "door locked"})

    # then the customer is told, as before
    assert OutboundMessage.objects.filter(order=order, template="pickup_failed").exists()


def test_closing_a_leg_writes_its_state_and_time_and_refuses_a_leg_changed_meanwhile():
    """``sla_sync``'s close writes what ``Leg.complete`` changed, with the
    check ``ConcurrentTransitionMixin`` makes: a leg no longer in the state it
    was read in is not overwritten."""
    from django.db import transaction
    from django_fsm import ConcurrentTransition

    from orders.events import EventActor
    from sla.services.legs import _close
    from tests.factories.returns import ReturnFactory

    ret = ReturnFactory()
    actor = EventActor.system("test")
    at = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    leg = Leg.objects.filter(return_request=ret, leg="pickup").get()
    with transaction.atomic():
        _close(leg, Leg.complete, at, actor, "completing event recorded")
    stored = Leg.objects.get(pk=leg.pk)
    assert (stored.state, stored.completed_at) == ("completed", at)
    assert (stored.due_at, stored.owner_team) == (leg.due_at, leg.owner_team)  # untouched
    # read while running, cancelled by someone else before it is closed here
    other = Leg.objects.create(
        return_request=ret,
        leg="qc",
        owner_team="warehouse",
        started_at=at,
        at_risk_at=at,
        due_at=at,
    )
    stale = Leg.objects.get(pk=other.pk)
    Leg.objects.filter(pk=other.pk).update(state="cancelled")
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        _close(stale, Leg.complete, at, actor, "completing event recorded")
    assert Leg.objects.get(pk=other.pk).state == "cancelled"
