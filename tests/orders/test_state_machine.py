"""(unit state, transition) -> new state or refusal, as one table.

The table is written out by hand from DOMAIN.md (Unit lifecycle) rather than
read from the model, so a transition added or widened by mistake fails here.
"""

import pytest
from django_fsm import TransitionNotAllowed

from orders.models import Unit
from orders.states import FINAL_REVERSE_STATES
from orders.states import UnitState as S

# transition -> (allowed source states, target state)
ALLOWED = {
    "allocate": ({S.ORDERED}, S.ALLOCATED),
    "ship": ({S.ALLOCATED}, S.SHIPPED),
    "deliver": ({S.SHIPPED}, S.DELIVERED),
    "refuse": ({S.SHIPPED}, S.REFUSED),
    "cancel": ({S.ORDERED, S.ALLOCATED}, S.CANCELLED),
    "request_return": ({S.DELIVERED}, S.RETURN_REQUESTED),
    "ride_back": ({S.REFUSED}, S.RETURN_IN_TRANSIT),
    "pick_up": ({S.RETURN_REQUESTED}, S.RETURN_IN_TRANSIT),
    "cancel_return": ({S.RETURN_REQUESTED}, S.DELIVERED),
    "receive": ({S.RETURN_IN_TRANSIT, S.RETURN_REQUESTED}, S.RETURNED),
    "pass_qc_for_refund": ({S.RETURNED}, S.PENDING_REFUND),
    "pass_qc_for_exchange": ({S.RETURNED}, S.PENDING_EXCHANGE),
    "fail_qc": ({S.RETURNED}, S.RETURN_REJECTED),
    "mark_refunded": ({S.PENDING_REFUND}, S.REFUNDED),
    "mark_replaced": ({S.PENDING_EXCHANGE}, S.REPLACED),
    "convert_exchange_to_refund": ({S.PENDING_EXCHANGE}, S.PENDING_REFUND),
    "keep": ({S.RETURN_REQUESTED}, S.KEPT),
    "pass_qc_for_repair": ({S.RETURNED}, S.IN_REPAIR),
    "send_back_repaired": ({S.IN_REPAIR}, S.REPAIRED),
}
if hasattr(S, "NOT_CHARGED"):
    # Arrives with the doorstep-refusal QC flow (returns work in progress):
    # a refused cash-on-delivery unit passes QC with nothing to refund.
    ALLOWED["pass_qc_uncharged"] = ({S.RETURNED}, S.NOT_CHARGED)
ARGS = {"allocate": (None,), "ship": (None,), "deliver": (None,), "receive": (None,)}

TABLE = [
    pytest.param(state, method, target if state in sources else None, id=f"{state}-{method}")
    for method, (sources, target) in ALLOWED.items()
    for state in S
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
    for state in {S.CANCELLED, *FINAL_REVERSE_STATES}:
        assert not any(state in sources for sources, _ in ALLOWED.values())
        unit = Unit(state=state)
        assert list(unit.get_available_state_transitions()) == []


def test_state_cannot_be_set_directly():
    unit = Unit(state=S.DELIVERED)
    with pytest.raises(AttributeError):
        unit.state = S.REFUNDED
