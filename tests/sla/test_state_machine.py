"""(leg state, transition) -> new state or refusal, as one table.

Written out by hand, like the Unit table in ``tests/orders/test_state_machine``.
Where the model and DOMAIN.md differ, the table follows the model; see below.

Differences from DOMAIN.md ("at 80% of its time a leg is at risk"; "on breach
the system decides by itself"; a leg "ends on its completing event"):
- A leg may be breached straight from ``running`` (a sweep that first sees it
  after its due time), without passing ``at_risk``.
- A ``breached`` leg can still ``complete`` when its completing event finally
  happens, but it cannot be ``cancelled``: cancelling or rejecting the return
  leaves an already breached leg ``breached``.
- ``cancelled`` (the return was cancelled or rejected, or the step no longer
  applies) is not in DOMAIN.md.
"""

from datetime import UTC, datetime

import pytest
from django_fsm import TransitionNotAllowed

from sla.models import Leg
from sla.states import OPEN_LEG_STATES
from sla.states import LegState as State

AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)

# transition -> (allowed source states, target state)
ALLOWED = {
    "mark_at_risk": ({State.RUNNING}, State.AT_RISK),
    "breach": ({State.RUNNING, State.AT_RISK}, State.BREACHED),
    "complete": ({State.RUNNING, State.AT_RISK, State.BREACHED}, State.COMPLETED),
    "cancel": ({State.RUNNING, State.AT_RISK}, State.CANCELLED),
}
ARGS = {
    "breach": (AT, "rescheduled", "pickup missed"),
    "complete": (AT,),
    "cancel": (AT,),
}
TERMINAL = {State.COMPLETED, State.CANCELLED}

TABLE = [
    pytest.param(state, method, target if state in sources else None, id=f"{state}-{method}")
    for method, (sources, target) in ALLOWED.items()
    for state in State
]


@pytest.mark.parametrize(("state", "method", "expected"), TABLE)
def test_leg_transition_table(state, method, expected):
    # given a leg in ``state``
    leg = Leg(state=state)
    # when ``method`` is applied
    if expected is None:
        # then it is refused and the state stays
        with pytest.raises(TransitionNotAllowed):
            getattr(leg, method)(*ARGS.get(method, ()))
        assert leg.state == state
    else:
        # then the leg moves to the expected state
        getattr(leg, method)(*ARGS.get(method, ()))
        assert leg.state == expected


def test_the_table_covers_every_transition_and_state_of_the_model():
    declared = {t.name for t in Leg._meta.get_field("state").get_all_transitions(Leg)}
    assert declared == set(ALLOWED)
    sources = {s for srcs, _ in ALLOWED.values() for s in srcs}
    assert set(State) == sources | TERMINAL


def test_terminal_states_have_no_way_out_and_open_states_are_the_clocked_ones():
    for state in TERMINAL:
        assert not any(state in sources for sources, _ in ALLOWED.values())
        assert list(Leg(state=state).get_available_state_transitions()) == []
    assert set(OPEN_LEG_STATES) == {State.RUNNING, State.AT_RISK}


def test_transitions_record_when_and_why():
    leg = Leg(state=State.AT_RISK)
    leg.breach(AT, "escalated_to_supervisor", "r" * 600)
    assert (leg.breached_at, leg.action, leg.action_reason) == (
        AT,
        "escalated_to_supervisor",
        "r" * 500,
    )
    leg.complete(AT)
    assert leg.completed_at == AT
    running = Leg(state=State.RUNNING)
    running.cancel(AT)
    assert running.completed_at == AT


def test_state_cannot_be_set_directly():
    leg = Leg(state=State.RUNNING)
    with pytest.raises(AttributeError):
        leg.state = State.COMPLETED
