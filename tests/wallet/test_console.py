"""The console's order page: store credit balance and a supervisor's goodwill
form (issue 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from refunds.models import Wallet, WalletEntry

pytestmark = pytest.mark.django_db


def _login(client, django_user_model, role: str):
    user = django_user_model.objects.create_user(role, password="pw-12345678", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def test_a_supervisor_grants_goodwill_from_the_order_page(
    client, django_user_model, customer_with_order
):
    # given a supervisor on the order page
    _login(client, django_user_model, "supervisor")
    page = client.get(f"/console/orders/{customer_with_order}/").content.decode()
    assert 'for="id_amount"' in page
    assert 'for="id_reason"' in page
    # when they grant 150.00 with a reason
    r = client.post(
        f"/console/orders/{customer_with_order}/goodwill/",
        {"amount": "150.00", "reason": "Wrong size sent twice"},
        follow=True,
    )
    # then the wallet holds it, with the reason and who granted it
    assert r.status_code == 200
    assert "150.00 INR goodwill credit granted; balance 150.00 INR." in r.content.decode()
    entry = WalletEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reason) == (
        "goodwill",
        Decimal("150.00"),
        "Wrong size sent twice",
    )
    assert entry.actor == "staff:supervisor"
    assert "Balance <strong>150.00 INR</strong>" in r.content.decode()


def test_goodwill_without_a_reason_is_refused(client, django_user_model, customer_with_order):
    _login(client, django_user_model, "supervisor")
    r = client.post(
        f"/console/orders/{customer_with_order}/goodwill/",
        {"amount": "150.00", "reason": ""},
        follow=True,
    )
    assert "Give a positive amount and a reason" in r.content.decode()
    assert not Wallet.objects.exists()


def test_an_agent_sees_the_balance_but_cannot_grant(client, django_user_model, customer_with_order):
    _login(client, django_user_model, "agent")
    page = client.get(f"/console/orders/{customer_with_order}/").content.decode()
    assert "Store credit" in page
    assert "Grant goodwill credit" not in page
    r = client.post(
        f"/console/orders/{customer_with_order}/goodwill/",
        {"amount": "150.00", "reason": "x"},
    )
    assert r.status_code == 403
    assert not Wallet.objects.exists()
