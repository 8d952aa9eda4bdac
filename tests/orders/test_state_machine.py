"""(unit state, transition) -> new state or refusal, as one table.

The table is written out by hand from DOMAIN.md (Unit lifecycle) rather than
read from the model, so a transition added or widened by mistake fails here.
"""

import pytest
from django_fsm import TransitionNotAllowed

from orders.models import Unit
from orders.states import FINAL_REVERSE_STATES, UnitState

# transition -> (allowed source states, target state)
ALLOWED = {
    "allocate": ({UnitState.ORDERED}, UnitState.ALLOCATED),
    "ship": ({UnitState.ALLOCATED}, UnitState.SHIPPED),
    "deliver": ({UnitState.SHIPPED}, UnitState.DELIVERED),
    "refuse": ({UnitState.SHIPPED}, UnitState.REFUSED),
    "cancel": ({UnitState.ORDERED, UnitState.ALLOCATED}, UnitState.CANCELLED),
    "request_return": ({UnitState.DELIVERED}, UnitState.RETURN_REQUESTED),
    "ride_back": ({UnitState.REFUSED}, UnitState.RETURN_IN_TRANSIT),
    "pick_up": ({UnitState.RETURN_REQUESTED}, UnitState.RETURN_IN_TRANSIT),
    "cancel_return": ({UnitState.RETURN_REQUESTED}, UnitState.DELIVERED),
    "receive": ({UnitState.RETURN_IN_TRANSIT, UnitState.RETURN_REQUESTED}, UnitState.RETURNED),
    "pass_qc_for_refund": ({UnitState.RETURNED}, UnitState.PENDING_REFUND),
    "pass_qc_for_exchange": ({UnitState.RETURNED}, UnitState.PENDING_EXCHANGE),
    "fail_qc": ({UnitState.RETURNED}, UnitState.RETURN_REJECTED),
    "mark_refunded": ({UnitState.PENDING_REFUND}, UnitState.REFUNDED),
    "mark_replaced": ({UnitState.PENDING_EXCHANGE}, UnitState.REPLACED),
    "convert_exchange_to_refund": ({UnitState.PENDING_EXCHANGE}, UnitState.PENDING_REFUND),
    "keep": ({UnitState.RETURN_REQUESTED}, UnitState.KEPT),
    "pass_qc_for_repair": ({UnitState.RETURNED}, UnitState.IN_REPAIR),
    "send_back_repaired": ({UnitState.IN_REPAIR}, UnitState.REPAIRED),
    "deliver_back": ({UnitState.RETURN_REJECTED}, UnitState.RETURNED_TO_CUSTOMER),
}
if hasattr(UnitState, "NOT_CHARGED"):
    # Arrives with the doorstep-refusal QC flow (returns work in progress):
    # a refused cash-on-delivery unit passes QC with nothing to refund.
    ALLOWED["pass_qc_uncharged"] = ({UnitState.RETURNED}, UnitState.NOT_CHARGED)
ARGS = {"allocate": (None,), "ship": (None,), "deliver": (None,), "receive": (None,)}

TABLE = [
    pytest.param(state, method, target if state in sources else None, id=f"{state}-{method}")
    for method, (sources, target) in ALLOWED.items()
    for state in UnitState
]


@pytest.mark.parametrize(("state", "method", "expected"), TABLE)
def test_unit_transition_table(state, method, expected):
    # given a unit in ``state``
    unit = Unit(state=state)
    # when ``method`` is applied
    if expected is None:
        # then it is refused and the state stays
        with pytest.raises(TransitionNotAllowed):
            getattr(unit, method)(*ARGS.get(method, ()))
        assert unit.state == state
    else:
        # then the unit moves to the expected state
        getattr(unit, method)(*ARGS.get(method, ()))
        assert unit.state == expected


def test_the_table_covers_every_transition_of_the_model():
    declared = {t.name for t in Unit._meta.get_field("state").get_all_transitions(Unit)}
    assert declared == set(ALLOWED)


def test_terminal_states_have_no_way_out():
    # cancelled and the final reverse states end the unit's story in this order
    for state in {UnitState.CANCELLED, *FINAL_REVERSE_STATES}:
        assert not any(state in sources for sources, _ in ALLOWED.values())
        unit = Unit(state=state)
        assert list(unit.get_available_state_transitions()) == []


def test_state_cannot_be_set_directly():
    unit = Unit(state=UnitState.DELIVERED)
    with pytest.raises(AttributeError):
        unit.state = UnitState.REFUNDED
