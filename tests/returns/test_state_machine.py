"""(return state, transition) -> new state or refusal, as one table.

Written out by hand, like the Unit table in ``tests/orders/test_state_machine``,
so a transition added or widened by mistake fails here. Where the model and
DOMAIN.md differ, the table follows the model (the code is what the refactor
of issue 11 must keep); the differences are listed below.

Differences from DOMAIN.md (which names no Return states, only the steps):
- ``mark_received`` is allowed from ``approved``: units dropped off at a store
  (or received without a pickup scan) skip ``in_transit``.
- ``complete`` is allowed from ``approved`` and ``in_transit``: a return whose
  units are all kept (keep-it, partial credit) or settled early never passes
  through ``received``.
- ``cancel`` is allowed from ``pending_review`` too (DOMAIN.md speaks only of a
  return cancelled before pickup).
- A doorstep-refusal return is created straight in ``in_transit`` (no
  transition), and ``rejected`` means refused in risk review, not the unit
  state "return rejected" (failed QC).
"""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django_fsm import TransitionNotAllowed

from returns.models import Return
from returns.states import OPEN_STATES
from returns.states import ReturnState as State

AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)

# transition -> (allowed source states, target state)
ALLOWED = {
    "approve": ({State.PENDING_REVIEW}, State.APPROVED),
    "reject": ({State.PENDING_REVIEW}, State.REJECTED),
    "mark_in_transit": ({State.APPROVED}, State.IN_TRANSIT),
    "mark_received": ({State.APPROVED, State.IN_TRANSIT}, State.RECEIVED),
    "complete": ({State.APPROVED, State.IN_TRANSIT, State.RECEIVED}, State.COMPLETED),
    "cancel": ({State.PENDING_REVIEW, State.APPROVED}, State.CANCELLED),
}
ARGS = {
    "approve": (None, "ok", AT),
    "reject": (None, "no", AT),
    "complete": (AT,),
    "cancel": (AT,),
}
TERMINAL = {State.COMPLETED, State.REJECTED, State.CANCELLED}

TABLE = [
    pytest.param(state, method, target if state in sources else None, id=f"{state}-{method}")
    for method, (sources, target) in ALLOWED.items()
    for state in State
]


@pytest.mark.parametrize(("state", "method", "expected"), TABLE)
def test_return_transition_table(state, method, expected):
    # given a return in ``state``
    ret = Return(state=state)
    # when ``method`` is applied
    if expected is None:
        # then it is refused and the state stays
        with pytest.raises(TransitionNotAllowed):
            getattr(ret, method)(*ARGS.get(method, ()))
        assert ret.state == state
    else:
        # then the return moves to the expected state
        getattr(ret, method)(*ARGS.get(method, ()))
        assert ret.state == expected


def test_the_table_covers_every_transition_and_state_of_the_model():
    declared = {t.name for t in Return._meta.get_field("state").get_all_transitions(Return)}
    assert declared == set(ALLOWED)
    assert set(State) == {s for sources, _ in ALLOWED.values() for s in sources} | TERMINAL


def test_terminal_states_have_no_way_out_and_are_not_open():
    for state in TERMINAL:
        assert not any(state in sources for sources, _ in ALLOWED.values())
        assert list(Return(state=state).get_available_state_transitions()) == []
        assert state not in OPEN_STATES
    assert set(OPEN_STATES) == set(State) - TERMINAL


def test_transitions_record_who_and_when():
    supervisor = get_user_model()(username="supervisor")
    held = Return(state=State.PENDING_REVIEW)
    held.approve(supervisor, "photo matches", AT)
    assert (held.reviewed_by, held.review_note, held.approved_at) == (
        supervisor,
        "photo matches",
        AT,
    )
    refused = Return(state=State.PENDING_REVIEW)
    refused.reject(None, "outside policy", AT)
    assert (refused.review_note, refused.closed_at) == ("outside policy", AT)
    for method in ("complete", "cancel"):
        ret = Return(state=State.APPROVED)
        getattr(ret, method)(AT)
        assert ret.closed_at == AT


def test_state_cannot_be_set_directly():
    ret = Return(state=State.APPROVED)
    with pytest.raises(AttributeError):
        ret.state = State.COMPLETED
