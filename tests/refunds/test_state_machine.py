"""(refund state, transition) -> new state or refusal, as one table.

Written out by hand, like the Unit table in ``tests/orders/test_state_machine``.
Where the model and DOMAIN.md differ, the table follows the model; see below.

Differences from DOMAIN.md (which says a refund is "retried, then escalated"
but names no states):
- ``failed`` is a state of its own, and ``fail`` from ``failed`` stays
  ``failed`` (each failed retry records the new reason).
- Escalation to finance is not a state: it is ``escalated_at`` on a pending or
  failed refund.
- ``issued`` is final: the model has no reversal (chargeback, bounced payout).
- ``awaiting_payout`` (issue 12): a bank/UPI refund waits for finance to pay
  its payout; a payout the bank returns keeps the refund there (the payout,
  not the refund, fails), and paying it issues the refund.
- ``processing``: a payment gateway accepted the refund; its report (response
  or webhook) issues or fails it.
"""

from datetime import UTC, datetime

import pytest
from django_fsm import TransitionNotAllowed

from refunds.models import Payout, Refund
from refunds.states import PayoutState
from refunds.states import RefundState as State

AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)

# transition -> (allowed source states, target state)
ALLOWED = {
    "issue": ({State.PENDING, State.FAILED, State.AWAITING_PAYOUT, State.PROCESSING}, State.ISSUED),
    "fail": ({State.PENDING, State.FAILED, State.PROCESSING}, State.FAILED),
    "await_payout": ({State.PENDING, State.FAILED, State.PROCESSING}, State.AWAITING_PAYOUT),
    # a payment gateway accepted the refund and has not reported it processed
    "accept": ({State.PENDING, State.FAILED}, State.PROCESSING),
}
ARGS = {"issue": (AT,), "fail": ("gateway down",), "await_payout": (), "accept": ()}

TABLE = [
    pytest.param(state, method, target if state in sources else None, id=f"{state}-{method}")
    for method, (sources, target) in ALLOWED.items()
    for state in State
]


@pytest.mark.parametrize(("state", "method", "expected"), TABLE)
def test_refund_transition_table(state, method, expected):
    # given a refund in ``state``
    refund = Refund(state=state)
    # when ``method`` is applied
    if expected is None:
        # then it is refused and the state stays
        with pytest.raises(TransitionNotAllowed):
            getattr(refund, method)(*ARGS[method])
        assert refund.state == state
    else:
        # then the refund moves to the expected state
        getattr(refund, method)(*ARGS[method])
        assert refund.state == expected


def test_the_table_covers_every_transition_and_state_of_the_model():
    declared = {t.name for t in Refund._meta.get_field("state").get_all_transitions(Refund)}
    assert declared == set(ALLOWED)
    sources = {s for srcs, _ in ALLOWED.values() for s in srcs}
    assert set(State) == sources | {State.ISSUED}


def test_issued_is_final():
    assert list(Refund(state=State.ISSUED).get_available_state_transitions()) == []


def test_issue_clears_the_failure_and_fail_keeps_the_reason_short():
    refund = Refund(state=State.PENDING)
    refund.fail("x" * 600)
    assert refund.failure_reason == "x" * 500
    refund.fail("card network unavailable")
    assert refund.failure_reason == "card network unavailable"
    refund.issue(AT)
    assert (refund.state, refund.issued_at, refund.failure_reason) == (State.ISSUED, AT, "")


def test_state_cannot_be_set_directly():
    refund = Refund(state=State.PENDING)
    with pytest.raises(AttributeError):
        refund.state = State.ISSUED


# Payout: transition -> (allowed source states, target state)
PAYOUT_ALLOWED = {
    "pay": ({PayoutState.PENDING}, PayoutState.PAID),
    "fail": ({PayoutState.PENDING}, PayoutState.FAILED),
    "correct": ({PayoutState.FAILED}, PayoutState.PENDING),
}
PAYOUT_ARGS = {"pay": ("412345678901", AT), "fail": ("account closed", AT), "correct": ({},)}


@pytest.mark.parametrize(
    ("state", "method", "expected"),
    [
        pytest.param(s, m, t if s in srcs else None, id=f"payout-{s}-{m}")
        for m, (srcs, t) in PAYOUT_ALLOWED.items()
        for s in PayoutState
    ],
)
def test_payout_transition_table(state, method, expected):
    payout = Payout(state=state)
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            getattr(payout, method)(*PAYOUT_ARGS[method])
        assert payout.state == state
    else:
        getattr(payout, method)(*PAYOUT_ARGS[method])
        assert payout.state == expected


def test_the_payout_table_covers_the_model():
    declared = {t.name for t in Payout._meta.get_field("state").get_all_transitions(Payout)}
    assert declared == set(PAYOUT_ALLOWED)
    assert set(PayoutState) == {s for srcs, _ in PAYOUT_ALLOWED.values() for s in srcs} | {
        PayoutState.PAID
    }
