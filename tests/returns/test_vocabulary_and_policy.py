"""One vocabulary for return events, and policy versions written by the service."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from returns.events import INPUT_EVENTS, EventKind, ReturnEventType
from returns.models import ReturnPolicy
from returns.services.events import HANDLERS
from returns.services.policy import policy_version_create


def test_input_events_keep_their_stored_values_and_api_names():
    assert ReturnEventType.QC_RESULT == "return.qc_result"
    assert ReturnEventType.QC_RESULT.kind == "qc_result"
    assert ReturnEventType.CONVERTED_TO_KEEP == "return.converted_to_keep"
    assert ReturnEventType.CONVERTED_TO_KEEP.kind == "convert_to_keep"
    assert [t.kind for t in INPUT_EVENTS] == [
        "pickup_completed",
        "pickup_failed",
        "received",
        "qc_result",
        "exchange_dispatched",
        "difference_collected",
        "cancelled",
        "convert_to_keep",
        "convert_to_refund",
        "exchange_relocated",
    ]
    for t in INPUT_EVENTS:
        assert ReturnEventType.from_kind(t.kind) is t
    assert ReturnEventType.from_kind("created") is None
    assert ReturnEventType.from_kind("nonsense") is None


def test_every_input_event_has_a_handler_and_the_deprecated_alias_matches():
    assert set(HANDLERS) == set(INPUT_EVENTS)
    assert EventKind.values == [t.kind for t in INPUT_EVENTS]
    assert EventKind.QC_RESULT == "qc_result"
    from returns.states import EventKind as old

    assert old is EventKind


@pytest.mark.django_db
def test_policy_version_create_writes_the_next_version_from_its_base():
    user = get_user_model().objects.create_user("ops-policy")
    base = ReturnPolicy.objects.order_by("-version").first()
    created = policy_version_create(base=base, data={"window_days": 45}, actor=user)
    assert created.version == base.version + 1
    assert created.window_days == 45
    assert created.restocking_fee == base.restocking_fee
    assert created.name == base.name
    assert created.created_by == user
    again = policy_version_create(base=None, data={"restocking_fee": Decimal("9.00")}, actor=None)
    assert again.version == created.version + 1
    assert again.restocking_fee == Decimal("9.00")


@pytest.mark.django_db
def test_policy_version_create_refuses_a_field_that_is_not_a_setting():
    with pytest.raises(ValueError, match="not policy settings"):
        policy_version_create(base=None, data={"version": 99}, actor=None)
