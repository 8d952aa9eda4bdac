"""oms.fsm: django-fsm-2's concurrent-transition mixin with its state fields
looked up once per class, and the library's check unchanged."""

from decimal import Decimal

import pytest
from django_fsm import ConcurrentTransition, FSMFieldMixin

from orders.models import Unit
from returns.models import Return
from sla.models import Leg

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Unit, Return, Leg])
def test_state_fields_are_the_librarys_and_kept_on_the_class(model):
    instance = model()
    expected = [f for f in model._meta.fields if isinstance(f, FSMFieldMixin)]
    assert expected  # every one of these models has a state field
    assert list(instance.state_fields) == expected
    assert model.__dict__["_oms_state_fields"] == tuple(expected)
    assert instance.state_fields is model().state_fields


def test_a_stale_instance_is_still_refused(make_order):
    order = make_order(lines=[("TEE-M", 1, Decimal("999.00"))])
    stale = Unit.objects.get(order=order)
    assert stale.state != "cancelled"
    Unit.objects.filter(pk=stale.pk).update(state="cancelled")  # another writer moved it
    stale.serial = "changed"
    with pytest.raises(ConcurrentTransition):
        stale.save()
