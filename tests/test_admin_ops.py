"""Issue 14, ops and finance in the admin: what the README promises each role,
the policy form with fields and a preview, revoke asks first, the order list."""

import pytest
from django.urls import reverse

from oms.models import ApiKey
from returns.models import ReturnPolicy
from sla.models import SlaRule
from tests.ui.builders import seed_reference_data, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_role(client):
    seed_reference_data()

    def make(role):
        client.force_login(staff_user(f"{role}-admin", role))
        return client

    return make


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("ops", "admin:returns_returnpolicy_add"),
        ("ops", "admin:returns_returnpolicy_changelist"),
        ("ops", "admin:sla_slarule_changelist"),
        ("ops", "admin:sla_slarule_add"),
        ("ops", "admin:sla_businesscalendar_changelist"),
        ("ops", "admin:sla_businesscalendar_add"),
        ("ops", "admin:intake_webhookdelivery_changelist"),
        ("ops", "admin:orders_outboundmessage_changelist"),
        ("ops", "admin:returns_returnreason_changelist"),
        ("finance", "admin:refunds_creditnote_changelist"),
        ("finance", "admin:refunds_storecredit_changelist"),
    ],
)
def test_role_reaches_what_the_readme_promises(as_role, role, url):
    assert as_role(role).get(reverse(url)).status_code == 200


def _policy_post(base, **changes):
    from returns.policy_form import SLA_LEGS

    data = {
        "name": base.name,
        "window_days": base.window_days,
        "exchange_window_days": base.exchange_window_days,
        "non_returnable_skus": ", ".join(base.non_returnable_skus),
        "non_returnable_categories": ", ".join(base.non_returnable_categories),
        "restocking_fee": base.restocking_fee,
        "return_shipping_fee": base.return_shipping_fee,
        "tender_order": ", ".join(base.tender_order),
        "keep_it_max_value": base.keep_it_max_value,
        "instant_refund_max": base.instant_refund_max,
        "qc_auto_pass_max": base.qc_auto_pass_max,
        "partial_credit_percent": base.partial_credit_percent,
        "defect_auto_outcome": base.defect_auto_outcome,
        "risk_threshold": base.risk_threshold,
        "high_value_order": base.high_value_order,
        "high_value_item": base.high_value_item,
        "max_pickup_attempts": base.max_pickup_attempts,
        "review_value_limit": base.review_value_limit,
        "risk_weight_repeat_returner": base.risk_weight_repeat_returner,
        "risk_weight_high_order_value": base.risk_weight_high_order_value,
        "risk_weight_high_item_value": base.risk_weight_high_item_value,
        "risk_weight_serial_mismatch": base.risk_weight_serial_mismatch,
        "risk_weight_contact_changed": base.risk_weight_contact_changed,
        "store_credit_validity_days": base.store_credit_validity_days or "",
    }
    for flag in ("self_ship_allowed", "store_drop_allowed"):
        if getattr(base, flag):
            data[flag] = "on"
    if base.exchange_dispatch_before_receipt:
        data["exchange_dispatch_before_receipt"] = "on"
    from orders.states import PaymentMethod

    for m in PaymentMethod.values:
        data[f"refund_methods_{m}"] = base.refund_methods.get(m, ["store_credit"])
    for leg, _ in SLA_LEGS:
        data[f"sla_{leg}"] = base.sla_hours.get(leg, 48)
    data.update(changes)
    return data


def test_ops_edits_a_policy_in_fields_previews_the_diff_then_saves_a_version(as_role):
    c = as_role("ops")
    base = ReturnPolicy.objects.order_by("-version").first()
    rules_before = SlaRule.objects.filter(policy=base).count()
    url = reverse("admin:returns_returnpolicy_add")
    page = c.get(url).content.decode()
    assert 'name="sla_pickup"' in page
    assert 'name="refund_methods_cod"' in page
    assert "Preview changes" in page
    changes = {
        "window_days": base.window_days + 7,
        "non_returnable_categories": "innerwear, gift cards",
        "sla_refund": 12,
        "refund_methods_cod": ["store_credit"],
    }
    r = c.post(url, {**_policy_post(base, **changes), "_preview": "Preview changes"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "Preview only: nothing is saved yet." in body
    assert (
        ReturnPolicy.objects.count() == 1
        or ReturnPolicy.objects.order_by("-version").first() == base
    )
    rows = r.context["adminform"].form.preview_rows
    labels = {label for label, _, _ in rows}
    assert "Window days" in labels
    assert "Non returnable categories" in labels
    assert "Sla hours" in labels
    assert "Refund methods" in labels
    assert "Restocking fee" not in labels
    r = c.post(url, {**_policy_post(base, **changes), "_save": "Save"})
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    new = ReturnPolicy.objects.order_by("-version").first()
    assert new.version == base.version + 1
    assert new.window_days == base.window_days + 7
    assert new.non_returnable_categories == ["innerwear", "gift cards"]
    assert new.sla_hours["refund"] == 12
    assert new.refund_methods["cod"] == ["store_credit"]
    assert new.created_by.username == "ops-admin"
    assert SlaRule.objects.filter(policy=new).count() == rules_before


def test_bad_tender_order_is_named(as_role):
    c = as_role("ops")
    base = ReturnPolicy.objects.order_by("-version").first()
    r = c.post(
        reverse("admin:returns_returnpolicy_add"),
        {**_policy_post(base, tender_order="card, cheque"), "_save": "Save"},
    )
    assert r.status_code == 200
    assert "Unknown payment method(s): cheque" in r.content.decode()


def test_revoking_an_api_key_asks_for_confirmation(admin_client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("key-user")
    key = ApiKey.objects.create(
        name="warehouse scanner", role="warehouse", prefix="abc123", user=user
    )
    url = reverse("admin:oms_apikey_changelist")
    r = admin_client.post(url, {"action": "revoke", "_selected_action": [key.pk]})
    assert r.status_code == 200
    assert "Revoke these API keys?" in r.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None
    r = admin_client.post(url, {"action": "revoke", "_selected_action": [key.pk], "confirm": "yes"})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_order_list_shows_status_and_channel_with_filters(
    admin_client, make_sku, make_order, deliver_order
):
    from tests.ui.builders import three_item_order

    order = three_item_order(make_sku, make_order, deliver_order)
    url = reverse("admin:orders_order_changelist")
    body = admin_client.get(url).content.decode()
    assert "delivered" in body
    assert "By status" in body or "status" in body
    assert order.number in admin_client.get(url + "?status=delivered").content.decode()
    assert order.number not in admin_client.get(url + "?status=in_transit").content.decode()
    assert (
        order.number
        in admin_client.get(
            url + "?placed_at__gte=2000-01-01+00%3A00%3A00%2B05%3A30"
        ).content.decode()
    )
