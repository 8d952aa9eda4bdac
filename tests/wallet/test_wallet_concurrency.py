"""Concurrent spending of one wallet on PostgreSQL, with real threads and
row locks: never more than the balance, and the ledger adds up (issue 12)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum

from oms.errors import Conflict
from orders.models import Customer
from refunds.models import Wallet, WalletEntry
from refunds.wallet import wallet_credit, wallet_debit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _run_together(n: int, work) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(5)
            results[i] = work(i)
        except Exception as exc:  # recorded for the assertions
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_concurrent_redemptions_never_overspend():
    # given a wallet of 100.00
    customer = Customer.objects.create(email="race@example.com")
    wallet_credit(
        customer_id=customer.pk,
        currency="INR",
        amount=Decimal("100.00"),
        kind=WalletEntry.Kind.GOODWILL,
        actor="t",
    )

    def spend(i: int):
        with transaction.atomic():
            return wallet_debit(
                customer_id=customer.pk,
                amount=Decimal("30.00"),
                kind=WalletEntry.Kind.REDEMPTION,
                actor=f"thread-{i}",
                reference=f"T{i}",
            )

    # when eight threads each try to spend 30.00 at once
    results = _run_together(8, spend)
    # then exactly three succeed, the rest are conflicts, never an error
    won = [r for r in results if isinstance(r, WalletEntry)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 3, results
    assert len(lost) == 5, results
    wallet = Wallet.objects.get()
    assert wallet.balance == Decimal("10.00")
    total = WalletEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"]
    assert total == wallet.balance
    # and the balances after each debit are distinct steps down
    after = sorted(e.balance_after for e in won)
    assert after == [Decimal("10.00"), Decimal("40.00"), Decimal("70.00")]


def test_concurrent_first_credits_make_one_wallet():
    customer = Customer.objects.create(email="first@example.com")

    def credit(i: int):
        with transaction.atomic():
            return wallet_credit(
                customer_id=customer.pk,
                currency="INR",
                amount=Decimal("5.00"),
                kind=WalletEntry.Kind.GOODWILL,
                actor=f"thread-{i}",
            )

    results = _run_together(6, credit)
    assert all(isinstance(r, WalletEntry) for r in results), results
    wallet = Wallet.objects.get()
    assert wallet.balance == Decimal("30.00")
    assert sorted(r.balance_after for r in results) == [Decimal(f"{5 * k}.00") for k in range(1, 7)]
