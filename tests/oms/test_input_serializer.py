"""oms.validation.InputSerializer: fields built once per thread, and the same
validated data and errors as DRF's own serializer gives."""

from __future__ import annotations

import threading

import pytest
from rest_framework import serializers

from oms.validation import InputSerializer
from returns.apis.create import ItemInput, PayoutInput, ReturnInput


class PlainReturnInput(serializers.Serializer):
    """ReturnInput's fields on DRF's own serializer: the reference."""

    order = ReturnInput._declared_fields["order"].__class__(max_length=20)
    items = ItemInput(many=True, allow_empty=False)
    refund_method = ReturnInput._declared_fields["refund_method"].__deepcopy__({})
    payout = PayoutInput(required=False, default=dict)
    location = ReturnInput._declared_fields["location"].__deepcopy__({})


BODIES = [
    {"order": "1001", "items": [{"unit": 5, "reason": "size", "resolution": "refund"}]},
    {
        "order": "1001",
        "items": [
            {"line": 2, "quantity": 3, "reason": "size", "resolution": "exchange"},
            {"unit": 9, "reason": "damaged", "resolution": "refund", "defect_type": "torn"},
        ],
        "refund_method": "store_credit",
        "payout": {"upi_id": "a@b"},
        "location": "store-1",
    },
    # each of these is refused, and the errors must match DRF's
    {"order": "1001", "items": []},
    {"order": "x" * 21, "items": [{"unit": 0, "reason": "size", "resolution": "nope"}]},
    {"order": "1001", "items": [{"unit": 1, "line": 2, "reason": "size", "resolution": "refund"}]},
    {"items": "not a list", "payout": {"ifsc": "123456789012"}},
    {"order": "1001", "items": [{"reason": "size", "resolution": "refund", "quantity": 0}]},
    "not an object",
]


def _outcome(cls, body):
    s = cls(data=body)
    return (True, s.validated_data) if s.is_valid() else (False, s.errors)


@pytest.mark.parametrize("body", BODIES)
def test_same_result_as_drf(body):
    # twice each, so the second goes through the reused fields
    expected = _outcome(PlainReturnInput, body)
    assert _outcome(ReturnInput, body) == expected
    assert _outcome(ReturnInput, body) == expected


def test_a_refused_body_leaves_nothing_for_the_next():
    assert not ReturnInput(data=BODIES[3]).is_valid()
    ok = ReturnInput(data=BODIES[0])
    assert ok.is_valid(), ok.errors
    assert ok.validated_data["items"][0]["unit"] == 5


def test_fields_built_once_per_thread_and_bound_to_each_instance():
    first, second = ReturnInput(data=BODIES[0]), ReturnInput(data=BODIES[1])
    assert first.fields is second.fields  # not deep-copied again
    assert all(f.parent is second for f in second.fields.values())
    seen = {}

    def other():
        seen["fields"] = ReturnInput(data=BODIES[0]).fields

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen["fields"] is not first.fields  # another thread builds its own
    assert set(seen["fields"]) == set(first.fields)


def test_subclasses_do_not_share_fields():
    class Narrow(InputSerializer):
        order = serializers.CharField(max_length=3)

    assert Narrow(data={}).fields is not ReturnInput(data={}).fields
    s = Narrow(data={"order": "1001"})
    assert not s.is_valid()
    assert "order" in s.errors
