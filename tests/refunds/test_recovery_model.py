"""Recovery: (state, transition) → state or refusal, and the database
constraints that hold whatever the code does."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django_fsm import TransitionNotAllowed

from refunds.models import Recovery
from refunds.states import RecoveryState as State

AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
ALLOWED = {
    "collect": ({State.OPEN}, State.COLLECTED),
    "write_off": ({State.OPEN}, State.WRITTEN_OFF),
}
KWARGS = {
    "collect": {"how": "payment_link", "reference": "pay_1", "at": AT},
    "write_off": {"reason": "goodwill", "at": AT},
}


@pytest.mark.parametrize(
    ("state", "method", "expected"),
    [
        pytest.param(s, m, target if s in sources else None, id=f"{s}-{m}")
        for m, (sources, target) in ALLOWED.items()
        for s in State
    ],
)
def test_recovery_transition_table(state, method, expected):
    recovery = Recovery(state=state)
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            getattr(recovery, method)(**KWARGS[method])
        assert recovery.state == state
    else:
        getattr(recovery, method)(**KWARGS[method])
        assert recovery.state == expected


def test_the_table_covers_the_model():
    declared = {t.name for t in Recovery._meta.get_field("state").get_all_transitions(Recovery)}
    assert declared == set(ALLOWED)
    assert set(State) == {State.OPEN, State.COLLECTED, State.WRITTEN_OFF}


@pytest.mark.django_db
def test_the_database_refuses_an_unsettled_settlement():
    # given the rows a recovery points at
    from tests.factories import ReturnFactory

    ret = ReturnFactory(received=True)
    unit = ret.items.first().unit
    base = {
        "order": ret.order,
        "return_request": ret,
        "unit": unit,
        "customer": ret.order.customer,
        "currency": "INR",
        "reason": "instant_refund_qc_failed",
    }
    bad = [
        {"amount": Decimal("0.00")},  # owed nothing
        {"amount": Decimal("1.00"), "state": "collected", "collected_at": AT},  # no reference
        {"amount": Decimal("1.00"), "state": "written_off", "written_off_at": AT},  # no reason
        {"amount": Decimal("1.00"), "state": "open", "collected_at": AT},  # open yet settled
        {"amount": Decimal("1.00"), "state": "lost"},  # unknown state
    ]
    for fields in bad:
        with pytest.raises(IntegrityError), transaction.atomic():
            Recovery.objects.create(**base, **fields)
    # and one recovery per unit
    Recovery.objects.create(**base, amount=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Recovery.objects.create(**base, amount=Decimal("2.00"))
