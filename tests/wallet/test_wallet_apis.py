"""The store credit API: statement, goodwill, redemptions with an
Idempotency-Key, and expiry by policy (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from flows.policy import policy_version_create
from refunds.models import Wallet, WalletEntry, WalletLot
from refunds.tasks import wallet_expire_due_task
from returns.models import ReturnPolicy

from .conftest import EMAIL, goodwill, statement

pytestmark = pytest.mark.django_db

REDEEM = "/api/v1/store-credit/redemptions/"


def redeem(api, amount: str, key: str | None, reference="CHK-1", customer=EMAIL):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(
        REDEEM,
        {"customer": customer, "amount": amount, "reference": reference},
        format="json",
        **headers,
    )


def ledger_sum(email=EMAIL) -> Decimal:
    return sum(
        (e.amount for e in WalletEntry.objects.filter(wallet__customer__email=email)),
        Decimal("0"),
    )


def test_a_customer_without_credit_has_a_zero_balance(storefront_api, customer_with_order):
    # when the storefront reads her store credit
    r = statement(storefront_api)
    # then it is empty, in the currency she shops in
    assert r.status_code == 200, r.json()
    assert r.json() == {"balance": "0.00", "currency": "INR", "count": 0, "entries": []}


def test_an_unknown_email_is_404(storefront_api, channel):
    r = statement(storefront_api, "nobody@example.com")
    assert r.status_code == 404
    assert r.json()["code"] == "unknown_customer"


def test_a_supervisor_grants_goodwill_with_a_reason(supervisor_api, agent_api, customer_with_order):
    # when a supervisor grants 250.00 for a late delivery
    r = goodwill(supervisor_api, "250.00", reason="Delivery a week late")
    # then the credit is on the ledger with its reason and the balance moved
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["kind"], body["amount"], body["balance"]) == ("goodwill", "250.00", "250.00")
    assert body["reason"] == "Delivery a week late"
    s = statement(agent_api).json()
    assert s["balance"] == "250.00"
    assert [e["kind"] for e in s["entries"]] == ["goodwill"]
    entry = WalletEntry.objects.get()
    assert entry.actor.startswith("api:")
    assert "supervisor" in entry.actor


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "10.00", "reason": ""}, "reason"),
        ({"amount": "10.00", "reason": "   "}, "reason"),
        ({"amount": "0.00", "reason": "x"}, "amount"),
        ({"amount": "-5.00", "reason": "x"}, "amount"),
        ({"amount": "ten", "reason": "x"}, "amount"),
        ({"reason": "x"}, "amount"),
    ],
)
def test_bad_goodwill_is_400_naming_the_field(supervisor_api, customer_with_order, body, field):
    r = supervisor_api.post(f"/api/v1/store-credit/{EMAIL}/goodwill/", body, format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["message"] or field in str(r.json()["extra"])
    assert not WalletEntry.objects.exists()


def test_only_a_supervisor_grants_goodwill(
    agent_api, storefront_api, finance_api, customer_with_order
):
    for api in (agent_api, storefront_api, finance_api):
        assert goodwill(api, "10.00").status_code == 403
    assert not Wallet.objects.exists()


def test_redemption_spends_and_is_201(storefront_api, supervisor_api, customer_with_order):
    # given 300.00 of credit
    goodwill(supervisor_api, "300.00")
    # when the storefront redeems 120.50
    r = redeem(storefront_api, "120.50", "key-1", reference="CHK-77")
    # then it is spent, once, with the storefront's reference
    assert r.status_code == 201, r.json()
    assert (r.json()["kind"], r.json()["amount"], r.json()["balance"]) == (
        "redemption",
        "-120.50",
        "179.50",
    )
    assert r.json()["reference"] == "CHK-77"
    s = statement(storefront_api).json()
    assert s["balance"] == "179.50"
    assert [e["kind"] for e in s["entries"]] == ["redemption", "goodwill"]  # newest first
    assert ledger_sum() == Decimal("179.50")


def test_redemption_beyond_the_balance_is_409_and_spends_nothing(
    storefront_api, supervisor_api, customer_with_order
):
    goodwill(supervisor_api, "100.00")
    r = redeem(storefront_api, "100.01", "key-short")
    assert r.status_code == 409, r.json()
    assert r.json()["code"] == "insufficient_store_credit"
    assert r.json()["extra"]["balance"] == "100.00"
    assert Wallet.objects.get().balance == Decimal("100.00")
    assert WalletEntry.objects.count() == 1


def test_redemption_with_no_wallet_is_409(storefront_api, customer_with_order):
    r = redeem(storefront_api, "1.00", "key-none")
    assert r.status_code == 409
    assert r.json()["code"] == "insufficient_store_credit"


def test_redemption_for_an_unknown_customer_is_400(storefront_api, channel):
    r = redeem(storefront_api, "1.00", "key-x", customer="ghost@example.com")
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "customer"


def test_redemption_needs_an_idempotency_key(storefront_api, supervisor_api, customer_with_order):
    goodwill(supervisor_api, "100.00")
    r = redeem(storefront_api, "10.00", None)
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_required"
    assert Wallet.objects.get().balance == Decimal("100.00")


def test_the_same_key_and_body_replays_the_first_answer(
    storefront_api, supervisor_api, customer_with_order
):
    goodwill(supervisor_api, "100.00")
    first = redeem(storefront_api, "40.00", "retry-me")
    # when the storefront retries (its connection dropped)
    again = redeem(storefront_api, "40.00", "retry-me")
    # then the answer is the first one and the money moved once
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Wallet.objects.get().balance == Decimal("60.00")
    assert WalletEntry.objects.filter(kind="redemption").count() == 1


def test_the_same_key_with_another_body_is_422(storefront_api, supervisor_api, customer_with_order):
    goodwill(supervisor_api, "100.00")
    assert redeem(storefront_api, "40.00", "k-2").status_code == 201
    r = redeem(storefront_api, "41.00", "k-2")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"
    assert Wallet.objects.get().balance == Decimal("60.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer": EMAIL, "amount": "0", "reference": "r"}, "amount"),
        ({"customer": EMAIL, "amount": "-1", "reference": "r"}, "amount"),
        ({"customer": "not-an-email", "amount": "1", "reference": "r"}, "customer"),
        ({"customer": EMAIL, "amount": "1"}, "reference"),
        ({"customer": EMAIL, "amount": "1.001", "reference": "r"}, "amount"),
    ],
)
def test_bad_redemptions_are_400(storefront_api, supervisor_api, customer_with_order, body, field):
    goodwill(supervisor_api, "100.00")
    r = storefront_api.post(REDEEM, body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert r.status_code == 400, r.json()
    assert field in str(r.json())
    assert Wallet.objects.get().balance == Decimal("100.00")


def test_entries_are_newest_first_and_bounded(storefront_api, supervisor_api, customer_with_order):
    for i in range(5):
        goodwill(supervisor_api, f"{i + 1}.00", reason=f"r{i}")
    r = statement(storefront_api, query="?limit=2&offset=1")
    body = r.json()
    assert body["count"] == 5
    assert [e["reason"] for e in body["entries"]] == ["r3", "r2"]
    assert statement(storefront_api, query="?limit=201").status_code == 400
    assert statement(storefront_api, query="?limit=x").status_code == 400


def _policy_with_validity(days: int) -> ReturnPolicy:
    base = ReturnPolicy.objects.order_by("-version").first()
    return policy_version_create(base=base, data={"store_credit_validity_days": days}, actor=None)


def test_credit_expires_by_the_policy_of_its_time(
    storefront_api, supervisor_api, customer_with_order, time_machine
):
    # given a policy version where credit is valid 30 days, and 100.00 granted under it
    policy = _policy_with_validity(30)
    assert policy.store_credit_validity_days == 30
    granted = goodwill(supervisor_api, "100.00").json()
    assert granted["expires_at"] is not None
    # and 40.00 of it spent
    assert redeem(storefront_api, "40.00", "spend-1").status_code == 201
    # when beat's sweep runs before the date, nothing expires
    assert wallet_expire_due_task.delay().get() == 0
    # and after it, the rest expires with a ledger entry
    time_machine.move_to(timezone.now() + timedelta(days=31))
    assert wallet_expire_due_task.delay().get() == 1
    s = statement(storefront_api).json()
    assert s["balance"] == "0.00"
    assert next((e["kind"], e["amount"]) for e in s["entries"]) == ("expiry", "-60.00")
    # and a second sweep changes nothing (idempotent)
    assert wallet_expire_due_task.delay().get() == 0
    assert WalletEntry.objects.filter(kind="expiry").count() == 1
    assert ledger_sum() == Decimal("0.00")


def test_expired_but_unswept_credit_cannot_be_spent(
    storefront_api, supervisor_api, customer_with_order, time_machine
):
    _policy_with_validity(1)
    goodwill(supervisor_api, "50.00")
    time_machine.move_to(timezone.now() + timedelta(days=2))
    r = redeem(storefront_api, "10.00", "late")
    assert r.status_code == 409
    assert Wallet.objects.get().balance == Decimal("50.00")


def test_spending_takes_the_credit_that_expires_first(
    storefront_api, supervisor_api, customer_with_order, time_machine
):
    # given 100 that never expires, then 100 valid 10 days
    goodwill(supervisor_api, "100.00", reason="no expiry")
    _policy_with_validity(10)
    goodwill(supervisor_api, "100.00", reason="ten days")
    # when 100 is spent, it is the expiring credit
    assert redeem(storefront_api, "100.00", "fifo").status_code == 201
    time_machine.move_to(timezone.now() + timedelta(days=11))
    # then nothing is left to expire and the lasting credit is intact
    assert wallet_expire_due_task.delay().get() == 0
    assert Wallet.objects.get().balance == Decimal("100.00")
    assert sum(WalletLot.objects.values_list("remaining", flat=True)) == Decimal("100.00")
