"""Admin for returns, refunds and SLA: pages render, policies are versioned."""

from decimal import Decimal

import pytest
from django.urls import reverse

from returns.models import ReturnPolicy
from sla.models import SlaRule

pytestmark = pytest.mark.django_db

MODELS = [
    "returns.returnreason",
    "returns.returnpolicy",
    "returns.return",
    "refunds.refund",
    "refunds.creditnote",
    "refunds.storecredit",
    "refunds.gatewayrefund",
    "refunds.gatewaywebhook",
    "sla.businesscalendar",
    "sla.slarule",
    "sla.leg",
    "orders.ledgerentry",
    "orders.outboundmessage",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_renders(admin_client, model):
    app, name = model.split(".")
    assert admin_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200


def test_saving_a_policy_writes_a_new_version_with_its_sla_rules(admin_client):
    # given version 1 with an SLA rule
    v1 = ReturnPolicy.objects.order_by("version").first()
    SlaRule.objects.create(policy=v1, leg="pickup", hours=Decimal("24"))
    # the existing version is read-only
    page = admin_client.get(reverse("admin:returns_returnpolicy_change", args=[v1.pk]))
    assert b'name="window_days"' not in page.content
    # when ops save the add form filled from it with a longer window
    form = admin_client.get(reverse("admin:returns_returnpolicy_add") + f"?copy_from={v1.pk}")
    initial = form.context["adminform"].form.initial
    data = {
        k: ("on" if v is True else "" if v is False or v is None else v)
        for k, v in initial.items()
        if k != "copy_from"
    }
    # the form shows lists as text and the JSON settings as fields (issue 14)
    for key in ("refund_methods", "sla_hours"):
        data.pop(key)
    data["window_days"] = 45
    data = {k: v for k, v in data.items() if v != ""}
    response = admin_client.post(
        reverse("admin:returns_returnpolicy_add") + f"?copy_from={v1.pk}", data
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    # then a new version exists, v1 is unchanged, and the rule came along
    v2 = ReturnPolicy.objects.order_by("-version").first()
    assert v2.version == v1.version + 1
    assert v2.window_days == 45
    v1.refresh_from_db()
    assert v1.window_days == 30
    assert SlaRule.objects.filter(policy=v2, leg="pickup", hours=Decimal("24")).exists()
