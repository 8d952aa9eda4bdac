"""The wallet's ledger: append-only and never negative in the database, and
the balance is always the sum of its entries (hypothesis) (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.errors import Conflict
from orders.models import Customer
from refunds.models import Wallet, WalletEntry, WalletLot
from refunds.wallet import wallet_credit, wallet_debit, wallet_expire_due

pytestmark = pytest.mark.django_db

Kind = WalletEntry.Kind


@pytest.fixture
def customer(db):
    return Customer.objects.create(email="ledger@example.com")


def _credit(customer, amount, **kw):
    return wallet_credit(
        customer_id=customer.pk,
        currency="INR",
        amount=Decimal(amount),
        kind=Kind.GOODWILL,
        actor="test",
        reason="test",
        **kw,
    )


def test_entries_cannot_be_edited_or_deleted_through_the_orm(customer):
    entry = _credit(customer, "10.00")
    entry.amount = Decimal("99.00")
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        WalletEntry.objects.filter(pk=entry.pk).update(amount=Decimal("99.00"))
    with pytest.raises(ValidationError):
        WalletEntry.objects.filter(pk=entry.pk).delete()
    assert WalletEntry.objects.get(pk=entry.pk).amount == Decimal("10.00")


def test_the_database_refuses_to_edit_an_entry(customer):
    entry = _credit(customer, "10.00")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("UPDATE refunds_walletentry SET amount = 99 WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM refunds_walletentry WHERE id = %s", [entry.pk])
    assert WalletEntry.objects.get(pk=entry.pk).amount == Decimal("10.00")


def test_the_database_refuses_a_negative_balance(customer):
    _credit(customer, "10.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(customer=customer).update(balance=Decimal("-0.01"))
    wallet = Wallet.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletEntry.objects.create(
            wallet=wallet,
            kind=Kind.REDEMPTION,
            amount=Decimal("-20.00"),
            balance_after=Decimal("-10.00"),
            currency="INR",
        )
    # a debit with a positive amount is refused too
    with pytest.raises(IntegrityError), transaction.atomic():
        WalletEntry.objects.create(
            wallet=wallet,
            kind=Kind.REDEMPTION,
            amount=Decimal("5.00"),
            balance_after=Decimal("15.00"),
            currency="INR",
        )


def test_a_debit_beyond_the_balance_is_a_conflict(customer):
    _credit(customer, "10.00")
    with pytest.raises(Conflict), transaction.atomic():
        wallet_debit(
            customer_id=customer.pk, amount=Decimal("10.01"), kind=Kind.REDEMPTION, actor="t"
        )
    assert Wallet.objects.get().balance == Decimal("10.00")


def test_a_wallet_holds_one_currency(customer):
    _credit(customer, "10.00")
    with pytest.raises(Exception, match="store credit is in INR"), transaction.atomic():
        wallet_credit(
            customer_id=customer.pk,
            currency="USD",
            amount=Decimal("1.00"),
            kind=Kind.GOODWILL,
            actor="t",
        )


# (action, amount in paise, days of validity or None)
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["credit", "debit", "expire", "wait"]),
        st.integers(min_value=1, max_value=50_000),
        st.one_of(st.none(), st.integers(min_value=1, max_value=30)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_the_balance_is_always_the_sum_of_the_ledger(actions, customer):
    # given any sequence of credits, debits, expiry sweeps and time passing
    now = timezone.now()
    offset = timedelta()
    start = WalletEntry.objects.filter(wallet__customer=customer).count()
    for action, paise, days in actions:
        amount = Decimal(paise) / 100
        if action == "credit":
            wallet_credit(
                customer_id=customer.pk,
                currency="INR",
                amount=amount,
                kind=Kind.GOODWILL,
                actor="t",
                at=now + offset,
                policy=_Policy(days),
            )
        elif action == "debit":
            try:
                with transaction.atomic():
                    wallet_debit(
                        customer_id=customer.pk, amount=amount, kind=Kind.REDEMPTION, actor="t"
                    )
            except Conflict:
                pass
        elif action == "expire":
            wallet_expire_due(now=now + offset)
        else:
            offset += timedelta(days=days or 1)
        # then the balance equals the sum of the entries and of the lots left,
        # and no entry ever showed a negative balance
        wallet = Wallet.objects.filter(customer=customer).first()
        if wallet is None:
            continue
        entries = WalletEntry.objects.filter(wallet=wallet)
        assert wallet.balance >= 0
        # (summed in Python: SQLite sums decimals as floats)
        assert wallet.balance == sum(entries.values_list("amount", flat=True), Decimal("0"))
        assert wallet.balance == sum(
            WalletLot.objects.filter(wallet=wallet).values_list("remaining", flat=True),
            Decimal("0"),
        )
        last = entries.order_by("-pk").first()
        assert last is None or last.balance_after == wallet.balance
    assert WalletEntry.objects.filter(wallet__customer=customer).count() >= start


class _Policy:
    """A policy version's validity, without writing a version per example."""

    def __init__(self, days):
        self.store_credit_validity_days = days
