"""Store credit as a tender: an order paid with it debits the wallet in the
order's transaction (400 when short), a refund of it credits the wallet back,
and the customer is told the amount credited and the new balance (issue 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps

from orders.models import Order, OutboundMessage
from refunds.models import Refund, StoreCredit, Wallet, WalletEntry
from tests.returns.helpers import create, refund_item, unit_ids, walk_to_qc

from .conftest import EMAIL, goodwill, place, statement

pytestmark = pytest.mark.django_db


def test_an_order_paid_with_store_credit_debits_the_wallet(
    storefront_api, supervisor_api, customer_with_order
):
    # given 700.00 of credit
    goodwill(supervisor_api, "700.00")
    # when an order of 1000.00 is paid 600.00 store credit + 400.00 card
    r = place(
        storefront_api,
        "W-SC-1",
        [{"method": "store_credit", "amount": "600.00"}, {"method": "card", "amount": "400.00"}],
    )
    # then it is created and the wallet paid its part, naming the order
    assert r.status_code == 201, r.json()
    number = r.json()["number"]
    s = statement(storefront_api).json()
    assert s["balance"] == "100.00"
    assert (s["entries"][0]["kind"], s["entries"][0]["amount"], s["entries"][0]["order"]) == (
        "order",
        "-600.00",
        number,
    )
    # and replaying the same order (same external id) spends nothing more
    again = place(
        storefront_api,
        "W-SC-1",
        [{"method": "store_credit", "amount": "600.00"}, {"method": "card", "amount": "400.00"}],
    )
    assert again.status_code == 200
    assert Wallet.objects.get().balance == Decimal("100.00")


def test_an_order_the_wallet_cannot_cover_is_refused_whole(
    storefront_api, supervisor_api, customer_with_order
):
    goodwill(supervisor_api, "599.99")
    orders_before = Order.objects.count()
    r = place(
        storefront_api,
        "W-SC-SHORT",
        [{"method": "store_credit", "amount": "600.00"}, {"method": "card", "amount": "400.00"}],
    )
    assert r.status_code == 400, r.json()
    body = r.json()
    assert body["code"] == "insufficient_store_credit"
    assert body["extra"]["field"] == "payments[0]"
    assert "store credit can't cover 600.00 INR" in body["message"]
    # nothing half-written: no order, no debit
    assert Order.objects.count() == orders_before
    assert Wallet.objects.get().balance == Decimal("599.99")
    assert WalletEntry.objects.count() == 1


def test_a_new_customer_paying_with_store_credit_is_refused(storefront_api, kurta):
    r = place(
        storefront_api,
        "W-SC-NEW",
        [{"method": "store_credit", "amount": "1000.00"}],
        email="new@example.com",
    )
    assert r.status_code == 400
    assert r.json()["code"] == "insufficient_store_credit"
    assert not Order.objects.filter(external_id="W-SC-NEW").exists()


def _paid_with_credit(storefront_api, supervisor_api, deliver_order, payments):
    goodwill(supervisor_api, "1000.00")
    r = place(storefront_api, "W-SC-RET", payments)
    assert r.status_code == 201, r.json()
    order = Order.objects.get(number=r.json()["number"])
    deliver_order(order)
    return order


def _return_all(storefront_api, warehouse_api, order, capture, **extra):
    units = unit_ids(order)
    r = create(
        storefront_api,
        {
            "order": order.number,
            "items": [{"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units],
            **extra,
        },
    )
    assert r.status_code == 201, r.json()
    with capture(execute=True):
        walk_to_qc(warehouse_api, r.json()["rma"], units)
    return Refund.objects.get(order=order)


def test_a_refund_of_the_store_credit_tender_credits_the_wallet_back(
    storefront_api,
    supervisor_api,
    warehouse_api,
    customer_with_order,
    deliver_order,
    django_capture_on_commit_callbacks,
):
    # given an order paid wholly with store credit (wallet 1000 -> 0)
    order = _paid_with_credit(
        storefront_api,
        supervisor_api,
        deliver_order,
        [{"method": "store_credit", "amount": "1000.00"}],
    )
    assert Wallet.objects.get().balance == Decimal("0.00")
    # when both units come back and pass QC (store credit goes back as store credit)
    refund = _return_all(
        storefront_api,
        warehouse_api,
        order,
        django_capture_on_commit_callbacks,
        refund_method="store_credit",
    )
    # then the tender went back to the wallet
    assert refund.state == "issued"
    assert {t.instrument: t.amount for t in refund.tenders.all()} == {
        "store_credit": Decimal("1000.00")
    }
    assert Wallet.objects.get().balance == Decimal("1000.00")
    entry = WalletEntry.objects.get(refund=refund)
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "refund",
        Decimal("1000.00"),
        Decimal("1000.00"),
    )
    assert StoreCredit.objects.get(refund=refund).code == entry.reference
    # and the refund API shows it
    body = next(x for x in storefront_api.get("/api/v1/refunds/").json() if x["id"] == refund.pk)
    assert body["store_credit"]["amount"] == "1000.00"
    assert body["store_credit"]["balance_after"] == "1000.00"
    # and the customer is told the amount and the new balance, no bank delay
    message = OutboundMessage.objects.filter(template="refund_issued_store_credit").get()
    assert "added 1000.00 INR to your store credit" in message.body
    assert "balance is now 1000.00 INR" in message.body
    for phrase in ("working days", "banking days", "5–7"):
        assert phrase not in message.body


def test_a_split_card_and_store_credit_order_refunded_as_credit(
    storefront_api,
    supervisor_api,
    warehouse_api,
    customer_with_order,
    deliver_order,
    django_capture_on_commit_callbacks,
):
    # given 700 store credit + 300 card (wallet 1000 -> 300)
    order = _paid_with_credit(
        storefront_api,
        supervisor_api,
        deliver_order,
        [{"method": "store_credit", "amount": "700.00"}, {"method": "card", "amount": "300.00"}],
    )
    assert Wallet.objects.get().balance == Decimal("300.00")
    # when everything is returned as store credit
    refund = _return_all(
        storefront_api,
        warehouse_api,
        order,
        django_capture_on_commit_callbacks,
        refund_method="store_credit",
    )
    # then the wallet gets the whole refund, and the ledger adds up
    assert Wallet.objects.get().balance == Decimal("1300.00")
    assert WalletEntry.objects.get(refund=refund).amount == Decimal("1000.00")
    assert sum(WalletEntry.objects.values_list("amount", flat=True)) == Decimal("1300.00")


def test_a_refund_as_store_credit_tells_the_balance(
    storefront_api,
    warehouse_api,
    customer_with_order,
    django_capture_on_commit_callbacks,
    deliver_order,
):
    # given a delivered card order
    order = Order.objects.get(number=customer_with_order)
    deliver_order(order)
    unit = unit_ids(order)[0]
    # when one unit is returned for store credit and passes QC
    r = create(storefront_api, refund_item(order.number, unit, refund_method="store_credit"))
    assert r.status_code == 201, r.json()
    with django_capture_on_commit_callbacks(execute=True):
        walk_to_qc(warehouse_api, r.json()["rma"], [unit])
    # then the wallet holds the credit and the message says so, without bank days
    assert statement(storefront_api).json()["balance"] == "500.00"
    message = OutboundMessage.objects.get(template="refund_issued_store_credit")
    assert message.subject == "500.00 INR store credit added to your account"
    assert "Your store credit balance is now 500.00 INR" in message.body
    assert "working days" not in message.body
    assert "banking days" not in message.body
    assert not OutboundMessage.objects.filter(template="refund_issued").exists()


def test_store_credit_codes_from_before_the_wallet_migrate_into_it(
    storefront_api,
    customer_with_order,
    deliver_order,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    # given a store credit code issued the old way: a StoreCredit row, no wallet entry
    order = Order.objects.get(number=customer_with_order)
    deliver_order(order)
    unit = unit_ids(order)[0]
    r = create(storefront_api, refund_item(order.number, unit, refund_method="store_credit"))
    with django_capture_on_commit_callbacks(execute=True):
        walk_to_qc(warehouse_api, r.json()["rma"], [unit])
    credit = StoreCredit.objects.get()
    # (wipe the wallet the new code wrote, as a database from before it would look)
    from django.db import connection

    with connection.cursor() as c:
        c.execute("DELETE FROM refunds_walletlot")
        if connection.vendor == "postgresql":
            c.execute("SET CONSTRAINTS ALL IMMEDIATE")
            c.execute("ALTER TABLE refunds_walletentry DISABLE TRIGGER USER")
        c.execute("DELETE FROM refunds_walletentry")
        if connection.vendor == "postgresql":
            c.execute("ALTER TABLE refunds_walletentry ENABLE TRIGGER USER")
        c.execute("DELETE FROM refunds_wallet")
    # when the data migration runs
    migration = __import__(
        "refunds.migrations.0005_wallet_from_store_credit_and_append_only",
        fromlist=["credits_into_wallets"],
    )
    migration.credits_into_wallets(apps, None)
    migration.credits_into_wallets(apps, None)  # and again: nothing twice
    # then the code is a wallet credit of the same amount, that never expires
    entry = WalletEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reference, entry.refund_id) == (
        "migrated",
        credit.amount,
        credit.code,
        credit.refund_id,
    )
    assert entry.expires_at is None
    assert statement(storefront_api, EMAIL).json()["balance"] == str(credit.amount)
