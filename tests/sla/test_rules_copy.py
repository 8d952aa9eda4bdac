"""A new policy version starts with the SLA rules of the one it copies."""

from datetime import time
from decimal import Decimal

import pytest

from sla.models import BusinessCalendar, SlaRule
from sla.services import sla_rules_copy

pytestmark = pytest.mark.django_db


def test_sla_rules_copy_gives_the_new_version_the_same_rules(policy):
    # given a policy version with two rules, one on a business calendar
    old, new = policy(), policy()
    cal = BusinessCalendar.objects.create(name="Weekdays", day_start=time(9), day_end=time(18))
    SlaRule.objects.create(policy=old, leg="pickup", hours=Decimal("9"), calendar=cal)
    SlaRule.objects.create(
        policy=old,
        leg="qc",
        return_type="exchange",
        channel="web",
        hours=Decimal("12"),
        owner_team="qc-desk",
    )
    # when they are copied to the next version
    copied = sla_rules_copy(source_policy_id=old.pk, target_policy_id=new.pk)
    # then the new version has the same rules and the old one keeps its own
    fields = ("leg", "return_type", "channel", "hours", "calendar_id", "owner_team")
    assert copied == 2
    assert list(SlaRule.objects.filter(policy=new).order_by("leg").values_list(*fields)) == list(
        SlaRule.objects.filter(policy=old).order_by("leg").values_list(*fields)
    )
    assert SlaRule.objects.filter(policy=old).count() == 2
