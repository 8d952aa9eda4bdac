"""Each factory trait builds an object consistent with the rest of the
database: its units, stock, money, timeline and SLA legs agree with its state.

``assert_consistent`` is the shared check; each test adds what its trait
specifically promises.
"""

from decimal import Decimal

import pytest

from inventory.models import SKU
from orders.models import Payment, TimelineEvent, Unit
from orders.states import OPEN_RETURN_STATES, UnitState
from refunds.models import CreditNote, Refund
from refunds.states import RefundState
from returns.models import Return, ReturnItem
from returns.states import OPEN_STATES, Resolution, ReturnState
from sla.models import Leg
from sla.states import OPEN_LEG_STATES, OWNER_TEAMS, LegKind, LegState
from tests.factories import DeliveredOrderFactory, LegFactory, RefundFactory, ReturnFactory
from tests.factories.returns import EXCHANGE_SKU_CODE, SKU_CODE
from tests.returns.helpers import assert_invariants, stock

pytestmark = pytest.mark.django_db


def _last_row(order, entity: str, entity_id) -> TimelineEvent | None:
    return (
        TimelineEvent.objects.filter(order=order, entity=entity, entity_id=str(entity_id))
        .order_by("pk")
        .last()
    )


def assert_consistent(order) -> None:
    """What every factory-built object must leave true of its order."""
    # money within captured per tender, stock equal to its ledger, open items
    # only on open returns, units in open-return states only in open items
    assert_invariants(order)
    # every unit, return, refund and leg: its latest timeline row ends in its state
    for unit in Unit.objects.filter(order=order):
        row = TimelineEvent.objects.filter(order=order, entity="unit", entity_id=str(unit.pk))
        if row.exists():
            assert row.order_by("pk").last().to_state == unit.state, unit
    returns = list(Return.objects.filter(order=order))
    for ret in returns:
        assert _last_row(order, "return", ret.rma).to_state == ret.state, ret
        items = list(ret.items.select_related("unit"))
        assert items
        # a return's items are open exactly while the return is
        assert {i.is_open for i in items} == {ret.state in OPEN_STATES}, ret
        if ret.state in (ReturnState.PENDING_REVIEW, ReturnState.APPROVED):
            physical = [i for i in items if i.resolution != Resolution.KEEP]
            assert all(i.unit.state in OPEN_RETURN_STATES for i in physical), ret
        if ret.state in (ReturnState.REJECTED, ReturnState.CANCELLED):
            assert all(i.unit.state == UnitState.DELIVERED for i in items), ret
        legs = list(Leg.objects.filter(return_request=ret))
        open_legs = [g.leg for g in legs if g.state in OPEN_LEG_STATES]
        assert len(open_legs) == len(set(open_legs)), ret
        if ret.state not in OPEN_STATES or ret.state == ReturnState.PENDING_REVIEW:
            assert open_legs == [], ret
    for leg in Leg.objects.filter(return_request__order=order):
        assert _last_row(order, "sla", leg.pk).to_state == leg.state, leg
        assert leg.started_at <= leg.at_risk_at <= leg.due_at
        assert leg.owner_team == OWNER_TEAMS[leg.leg]
    for refund in Refund.objects.filter(order=order):
        assert _last_row(order, "refund", refund.pk).to_state == refund.state, refund
        assert sum(t.amount for t in refund.tenders.all()) == refund.amount
        assert CreditNote.objects.filter(refund=refund).exists() == (
            refund.state == RefundState.ISSUED
        )
    # the latest refund leg is running (or breached) exactly while some refund
    # of the return is not issued
    for ret in returns:
        owed = Refund.objects.filter(return_request=ret).exclude(state=RefundState.ISSUED)
        latest = Leg.objects.filter(return_request=ret, leg=LegKind.REFUND).order_by("pk").last()
        clock_runs = latest is not None and latest.state in (*OPEN_LEG_STATES, LegState.BREACHED)
        assert owed.exists() == clock_runs, ret


def _stock(code: str) -> dict[str, int]:
    return stock(SKU.objects.get(code=code))


def _leg_states(ret) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for leg in Leg.objects.filter(return_request=ret).order_by("attempt", "pk"):
        out.setdefault(leg.leg, []).append(leg.state)
    return out


# --- delivered orders --------------------------------------------------------


def test_delivered_order_has_every_unit_delivered_and_paid():
    order = DeliveredOrderFactory(quantity=3, price=Decimal("250.00"))
    assert list(order.units.values_list("state", flat=True)) == [UnitState.DELIVERED] * 3
    assert sum(u.net_paid for u in order.units.all()) == Decimal("750.00")
    assert Payment.objects.get(order=order).captured_amount == Decimal("750.00")
    assert _stock(SKU_CODE) == {"sellable": 997}
    assert not Return.objects.filter(order=order).exists()
    assert_consistent(order)


def test_refused_units_open_a_doorstep_refusal_return_by_themselves():
    order = DeliveredOrderFactory(quantity=2, refused=1)
    (ret,) = Return.objects.filter(order=order)
    assert (ret.type, ret.state) == ("doorstep_refusal", ReturnState.IN_TRANSIT)
    assert sorted(order.units.values_list("state", flat=True)) == [
        UnitState.DELIVERED,
        UnitState.RETURN_IN_TRANSIT,
    ]
    assert_consistent(order)


# --- returns: one trait per status -------------------------------------------

# trait -> (unit state, legs by kind (one state per attempt), refund states,
#           stock of the returned SKU at the warehouse)
RETURN_TRAITS = {
    "pending_review": (UnitState.RETURN_REQUESTED, {}, [], {"sellable": 998}),
    "approved": (UnitState.RETURN_REQUESTED, {"pickup": ["running"]}, [], {"sellable": 998}),
    "in_transit": (
        UnitState.RETURN_IN_TRANSIT,
        {"pickup": ["completed"]},
        [],
        {"sellable": 998, "in_transit": 1},
    ),
    "received": (
        UnitState.RETURNED,
        {"pickup": ["completed"], "qc": ["running"]},
        [],
        {"sellable": 998, "pending_inspection": 1},
    ),
    "completed": (
        UnitState.REFUNDED,
        {"pickup": ["completed"], "qc": ["completed"], "refund": ["completed"]},
        [RefundState.ISSUED],
        {"sellable": 999},
    ),
    "rejected": (UnitState.DELIVERED, {}, [], {"sellable": 998}),
    "cancelled": (UnitState.DELIVERED, {"pickup": ["cancelled"]}, [], {"sellable": 998}),
}


def test_every_return_state_has_a_trait():
    assert set(RETURN_TRAITS) == set(ReturnState.values)


@pytest.mark.parametrize("trait", list(RETURN_TRAITS))
def test_return_trait_builds_a_consistent_return(trait):
    unit_state, legs, refunds, stock_after = RETURN_TRAITS[trait]
    # when the trait is built
    ret = ReturnFactory(**{trait: True})
    # then the return is in that state, for one unit of a two-unit order
    assert ret.state == trait
    (item,) = ret.items.select_related("unit")
    assert item.unit.state == unit_state
    assert ret.order.units.exclude(pk=item.unit_id).get().state == UnitState.DELIVERED
    # and its legs, refunds and stock are what that state implies
    assert _leg_states(ret) == legs
    assert list(Refund.objects.filter(return_request=ret).values_list("state", flat=True)) == (
        refunds
    )
    assert _stock(SKU_CODE) == stock_after
    assert_consistent(ret.order)


def test_held_and_decided_returns_record_the_risk_and_the_review():
    held = ReturnFactory(pending_review=True)
    assert held.risk_score >= held.policy.risk_threshold
    assert held.approved_at is None
    rejected = ReturnFactory(rejected=True)
    assert rejected.closed_at is not None
    assert rejected.review_note


def test_completed_return_refunds_exactly_what_the_unit_paid():
    ret = ReturnFactory(completed=True)
    (refund,) = ret.refunds.all()
    (item,) = ret.items.select_related("unit")
    assert refund.amount == item.unit.net_paid == Decimal(ret.estimate["total"])
    assert Payment.objects.get(order=ret.order).refunded_amount == refund.amount
    assert ret.closed_at is not None


def test_completed_exchange_dispatches_replacements_and_refunds_nothing():
    # given an exchange of both units of an order for the same-priced size L
    ret = ReturnFactory(completed=True, exchange=True, units=2)
    items = list(ret.items.select_related("unit", "replacement_unit__sku"))
    # then each original is replaced by a new unit of the L, shipped
    assert [i.unit.state for i in items] == [UnitState.REPLACED] * 2
    assert {i.replacement_unit.sku.code for i in items} == {EXCHANGE_SKU_CODE}
    assert {i.replacement_unit.state for i in items} == {UnitState.SHIPPED}
    assert not ret.refunds.exists()
    assert _leg_states(ret) == {
        "pickup": ["completed"],
        "qc": ["completed"],
        "exchange_dispatch": ["completed"],
    }
    assert _stock(EXCHANGE_SKU_CODE) == {"sellable": 998}
    assert_consistent(ret.order)


def test_approved_exchange_reserves_the_replacement_and_starts_its_clock():
    ret = ReturnFactory(exchange=True)
    assert ret.type == "exchange"
    assert ReturnItem.objects.get(return_request=ret).reserved_at.code == "wh-main"
    assert _stock(EXCHANGE_SKU_CODE) == {"sellable": 999, "reserved": 1}
    assert _leg_states(ret) == {"pickup": ["running"], "exchange_dispatch": ["running"]}
    assert_consistent(ret.order)


@pytest.mark.parametrize(
    ("trait", "unit_state", "legs", "refunds"),
    [
        ("in_transit", UnitState.RETURN_IN_TRANSIT, {}, []),
        ("received", UnitState.RETURNED, {"qc": ["running"]}, []),
        (
            "completed",
            UnitState.REFUNDED,
            {"qc": ["completed"], "refund": ["completed"]},
            [RefundState.ISSUED],
        ),
    ],
)
def test_doorstep_refusal_trait_rides_back_without_a_pickup(trait, unit_state, legs, refunds):
    ret = ReturnFactory(doorstep_refusal=True, **{trait: True})
    assert (ret.type, ret.state, ret.channel) == ("doorstep_refusal", trait, "courier")
    (item,) = ret.items.select_related("unit")
    assert item.unit.state == unit_state
    assert ret.order.units.exclude(pk=item.unit_id).get().state == UnitState.DELIVERED
    assert _leg_states(ret) == legs
    assert list(ret.refunds.values_list("state", flat=True)) == refunds
    assert_consistent(ret.order)


def test_returns_can_share_an_order_unit_by_unit():
    order = DeliveredOrderFactory(quantity=3)
    first = ReturnFactory(order=order, completed=True)
    second = ReturnFactory(order=order, in_transit=True)
    third = ReturnFactory(order=order, cancelled=True)
    units = [set(r.items.values_list("unit_id", flat=True)) for r in (first, second, third)]
    assert units[0].isdisjoint(units[1])
    assert units[2].isdisjoint(units[1])  # the cancelled return took a unit left delivered
    assert_consistent(order)


def test_return_factory_refuses_what_it_cannot_build():
    order = DeliveredOrderFactory(quantity=1)
    with pytest.raises(ValueError, match="delivered unit"):
        ReturnFactory(order=order, units=2)
    with pytest.raises(ValueError, match="no path"):
        ReturnFactory(state="lost")
    with pytest.raises(ValueError, match="no path"):
        ReturnFactory(doorstep_refusal=True, approved=True)
    with pytest.raises(NotImplementedError):
        ReturnFactory.build()


# --- refunds: one trait per status -------------------------------------------


def test_every_refund_state_has_a_trait():
    assert {"pending", "issued", "failed", "awaiting_payout", "processing"} == set(
        RefundState.values
    )


@pytest.mark.parametrize("trait", ["pending", "issued", "failed", "awaiting_payout", "processing"])
def test_refund_trait_builds_a_consistent_refund(trait):
    # when the trait is built
    refund = RefundFactory(**{trait: True})
    # then the refund is in that state, for the return's one unit at its net paid
    assert refund.state == trait
    ret = refund.return_request
    (item,) = ret.items.select_related("unit")
    assert refund.amount == item.unit.net_paid
    assert list(refund.items.values_list("unit_id", flat=True)) == [item.unit_id]
    payment = Payment.objects.get(order=refund.order)
    issued = trait == RefundState.ISSUED
    # and the money, the unit, the return and the refund leg agree with it
    assert payment.refunded_amount == (refund.amount if issued else 0)
    assert item.unit.state == (UnitState.REFUNDED if issued else UnitState.PENDING_REFUND)
    assert ret.state == (ReturnState.COMPLETED if issued else ReturnState.RECEIVED)
    assert _leg_states(ret)["refund"] == ["completed" if issued else "running"]
    assert (refund.issued_at is not None) == issued
    assert refund.attempts == (0 if trait == RefundState.PENDING else 1)
    assert ("unavailable" in refund.failure_reason) == (trait == RefundState.FAILED)
    assert_consistent(refund.order)


# --- SLA legs: one trait per status, for each kind of leg --------------------

LEG_TRAITS = ["running", "at_risk", "breached", "completed", "cancelled"]
# kind -> what the system does on breach
BREACH_ACTIONS = {
    "pickup": "rescheduled",
    "qc": "auto_passed",
    "exchange_dispatch": "converted_to_refund",
    "refund": "escalated_to_finance",
}


def test_every_leg_state_and_kind_is_covered():
    assert set(LEG_TRAITS) == set(LegState.values)
    assert set(BREACH_ACTIONS) == set(LegKind.values)


@pytest.mark.parametrize("kind", list(BREACH_ACTIONS))
@pytest.mark.parametrize("trait", LEG_TRAITS)
def test_leg_trait_builds_a_consistent_leg(kind, trait):
    if trait == "cancelled" and kind in ("qc", "refund"):
        # its return is past pickup and can no longer be cancelled
        with pytest.raises(ValueError, match="cannot be cancelled"):
            LegFactory(kind=kind, cancelled=True)
        return
    # when the trait is built
    leg = LegFactory(kind=kind, **{trait: True})
    # then the leg is the first of its kind on its return, in that state
    assert (leg.leg, leg.attempt, leg.state) == (kind, 1, trait)
    ret = leg.return_request
    assert (leg.completed_at is not None) == (trait in ("completed", "cancelled"))
    assert (leg.breached_at is not None) == (trait == "breached")
    if trait == "breached":
        # and the system acted on its own, as DOMAIN.md says for that leg
        assert leg.breached_at == leg.due_at
        assert leg.action == BREACH_ACTIONS[kind]
        assert leg.action_reason
    if trait == "cancelled":
        assert ret.state == ReturnState.CANCELLED
    assert_consistent(ret.order)


def test_breached_pickup_books_another_attempt():
    leg = LegFactory(breached=True)
    assert _leg_states(leg.return_request) == {"pickup": ["breached", "running"]}
    assert leg.return_request.pickup_attempts == 1


def test_breached_refund_is_escalated_to_finance():
    leg = LegFactory(kind="refund", breached=True)
    (refund,) = leg.return_request.refunds.all()
    assert refund.state == RefundState.PENDING
    assert refund.escalated_at is not None


def test_leg_factory_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown leg kind"):
        LegFactory(kind="teleport")
