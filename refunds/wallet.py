"""Store credit is a wallet (issue 12): one balance per customer and an
append-only ledger (``WalletEntry``). Every write here takes the wallet's row
lock, re-checks the balance under it and writes the entry with the balance
after it, in the caller's transaction; the database refuses a negative balance
or an edited entry whatever the code does.

Credits (refund, goodwill) open a lot that expires after the policy's
``store_credit_validity_days`` (none: never); debits (redemption, an order's
``store_credit`` tender) spend the lots that expire soonest first;
``wallet_expire_due`` (Celery beat) writes an expiry entry for what is left of
each lot past its date.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from oms.errors import ApplicationError, Conflict, NotFound
from oms.money import round_money
from orders.models import Customer, Order
from returns.models import ReturnPolicy

from .models import Refund, Wallet, WalletEntry, WalletLot

ZERO = Decimal("0.00")
Kind = WalletEntry.Kind


class InsufficientCredit(Conflict):
    default_code = "insufficient_store_credit"


def customer_by_email(email: str) -> Customer:
    """The customer an email names (any case), as order intake matches them."""
    customer = Customer.objects.filter(email__iexact=(email or "").strip()).order_by("pk").first()
    if customer is None or not email:
        raise NotFound(f"No customer with email {email!r}.", code="unknown_customer")
    return customer


def _wallet_lock(customer_id: int, currency: str | None) -> Wallet:
    """The customer's wallet, locked; created (empty, in ``currency``) on
    first use. A concurrent creation loses on the unique customer and reads
    the winner's row."""
    wallet = Wallet.objects.select_for_update().filter(customer_id=customer_id).first()
    if wallet is None:
        if currency is None:
            raise InsufficientCredit("The customer has no store credit.", extra={"balance": "0.00"})
        try:
            with transaction.atomic():
                Wallet.objects.create(customer_id=customer_id, currency=currency)
        except IntegrityError:
            pass
        wallet = Wallet.objects.select_for_update().get(customer_id=customer_id)
    if currency is not None and wallet.currency != currency:
        raise ApplicationError(
            f"currency: the customer's store credit is in {wallet.currency}, not {currency}.",
            code="currency_mismatch",
            extra={"field": "currency", "wallet_currency": wallet.currency},
        )
    return wallet


def _entry(wallet: Wallet, kind: str, amount: Decimal, *, actor: str, **fields) -> WalletEntry:
    """Move the locked wallet's balance by ``amount`` and write its entry."""
    balance = wallet.balance + amount
    if balance < 0:
        raise InsufficientCredit(
            f"Store credit balance {wallet.balance} {wallet.currency} is short of "
            f"{-amount} {wallet.currency}.",
            extra={"balance": str(wallet.balance), "amount": str(-amount)},
        )
    # Absolute values under the row lock (SQLite would do F() arithmetic in floats).
    Wallet.objects.filter(pk=wallet.pk).update(balance=balance, updated_at=timezone.now())
    wallet.balance = balance
    return WalletEntry.objects.create(
        wallet=wallet,
        kind=kind,
        amount=amount,
        balance_after=balance,
        currency=wallet.currency,
        actor=actor[:150],
        **fields,
    )


def validity_days(policy: ReturnPolicy | None = None) -> int | None:
    """Days a credit granted now stays spendable: the given policy version's,
    else the current version's."""
    policy = policy or ReturnPolicy.objects.order_by("-version").first()
    return policy.store_credit_validity_days if policy else None


def wallet_credit(
    *,
    customer_id: int,
    currency: str,
    amount: Decimal,
    kind: str,
    actor: str,
    reason: str = "",
    reference: str = "",
    refund: Refund | None = None,
    order: Order | None = None,
    policy: ReturnPolicy | None = None,
    idempotency_key: str | None = None,
    at: datetime | None = None,
) -> WalletEntry:
    """Add credit and open its lot (expiring per the policy)."""
    if kind not in WalletEntry.CREDITS:
        raise ValueError(f"{kind} is not a credit")
    amount = round_money(amount, currency)
    if amount <= 0:
        raise ApplicationError("amount: must be positive.", extra={"field": "amount"})
    if idempotency_key:
        done = WalletEntry.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            return done
    with transaction.atomic():
        wallet = _wallet_lock(customer_id, currency)
        days = validity_days(policy)
        at = at or timezone.now()
        expires_at = at + timedelta(days=days) if days else None
        entry = _entry(
            wallet,
            kind,
            amount,
            actor=actor,
            reason=reason[:500],
            reference=reference[:100],
            refund=refund,
            order=order,
            expires_at=expires_at,
            idempotency_key=idempotency_key,
            details={"policy_validity_days": days},
        )
        WalletLot.objects.create(
            wallet=wallet, entry=entry, amount=amount, remaining=amount, expires_at=expires_at
        )
        return entry


def _spend_lots(wallet: Wallet, amount: Decimal, now: datetime) -> list[dict]:
    """Take ``amount`` from the live lots, soonest expiry first (lots that
    never expire last), oldest first among equals."""
    left = amount
    taken = []
    lots = (
        WalletLot.objects.select_for_update()
        .filter(wallet=wallet, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by(F("expires_at").asc(nulls_last=True), "pk")
    )
    for lot in lots:
        if left <= 0:
            break
        take = min(left, lot.remaining)
        WalletLot.objects.filter(pk=lot.pk).update(remaining=lot.remaining - take)
        taken.append({"lot": lot.pk, "amount": str(take)})
        left -= take
    if left > 0:
        # Credit past its date but not yet swept is not spendable.
        raise InsufficientCredit(
            f"Store credit balance is short of {amount} {wallet.currency}: "
            f"{left} {wallet.currency} of it has expired.",
            extra={"balance": str(wallet.balance - left), "amount": str(amount)},
        )
    return taken


def wallet_debit(
    *,
    customer_id: int,
    amount: Decimal,
    kind: str,
    actor: str,
    reference: str = "",
    order: Order | None = None,
    currency: str | None = None,
    idempotency_key: str | None = None,
) -> WalletEntry:
    """Spend credit: 409 (``InsufficientCredit``) when the balance is short."""
    if kind not in (Kind.REDEMPTION, Kind.ORDER):
        raise ValueError(f"{kind} is not a debit")
    if amount <= 0:
        raise ApplicationError("amount: must be positive.", extra={"field": "amount"})
    if idempotency_key:
        done = WalletEntry.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            return done
    with transaction.atomic():
        wallet = _wallet_lock(customer_id, currency)
        amount = round_money(amount, wallet.currency)
        if amount > wallet.balance:
            raise InsufficientCredit(
                f"Store credit balance {wallet.balance} {wallet.currency} is short of "
                f"{amount} {wallet.currency}.",
                extra={"balance": str(wallet.balance), "amount": str(amount)},
            )
        taken = _spend_lots(wallet, amount, timezone.now())
        return _entry(
            wallet,
            kind,
            -amount,
            actor=actor,
            reference=reference[:100],
            order=order,
            idempotency_key=idempotency_key,
            details={"lots": taken},
        )


def wallet_pay_order(order: Order, actor: str) -> list[WalletEntry]:
    """Debit the wallet for the order's ``store_credit`` tenders, in the
    order's transaction. A short balance is the order's bad input: 400."""
    tenders = [p for p in order.payments.all() if p.method == "store_credit"]
    entries = []
    for payment in tenders:
        try:
            entries.append(
                wallet_debit(
                    customer_id=order.customer_id,
                    amount=payment.amount,
                    kind=Kind.ORDER,
                    actor=actor,
                    reference=order.number,
                    order=order,
                    currency=order.currency,
                    idempotency_key=f"order-{order.pk}-payment-{payment.pk}",
                )
            )
        except InsufficientCredit as exc:
            raise ApplicationError(
                f"payments[{payment.position - 1}]: store credit can't cover "
                f"{payment.amount} {order.currency}. {exc.message}",
                code="insufficient_store_credit",
                extra={"field": f"payments[{payment.position - 1}]", **exc.extra},
            ) from exc
        except ApplicationError as exc:
            raise ApplicationError(
                f"payments[{payment.position - 1}]: {exc.message}",
                code=exc.code,
                extra={"field": f"payments[{payment.position - 1}]", **exc.extra},
            ) from exc
    return entries


def wallet_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Expire what is left of lots past their date: one entry per lot, each
    under its wallet's lock. Idempotent (an expired lot has nothing left).
    Returns how many lots it expired."""
    now = now or timezone.now()
    due = list(
        WalletLot.objects.filter(remaining__gt=0, expires_at__lte=now)
        .order_by("wallet_id", "pk")
        .values_list("pk", "wallet_id")[:limit]
    )
    done = 0
    for lot_id, wallet_id in due:
        with transaction.atomic():
            wallet = Wallet.objects.select_for_update().get(pk=wallet_id)
            lot = WalletLot.objects.select_for_update().get(pk=lot_id)
            if lot.remaining <= 0:
                continue
            amount = lot.remaining
            WalletLot.objects.filter(pk=lot.pk).update(remaining=ZERO)
            _entry(
                wallet,
                Kind.EXPIRY,
                -amount,
                actor="system:wallet",
                reference=f"lot-{lot.pk}",
                reason=f"Unspent credit of entry {lot.entry_id} ({lot.amount}) reached its date",
                details={"lot": lot.pk, "expired_at": lot.expires_at.isoformat()},
            )
            done += 1
    return done


def wallet_redeem(*, email: str, amount: Decimal, reference: str, actor: str) -> WalletEntry:
    """Spend a customer's credit outside an order (a storefront's checkout):
    one transaction; 409 when the balance is short."""
    customer = Customer.objects.filter(email__iexact=email.strip()).order_by("pk").first()
    if customer is None:
        raise ApplicationError(
            f"customer: no customer with email {email!r}.",
            code="unknown_customer",
            extra={"field": "customer"},
        )
    with transaction.atomic():
        return wallet_debit(
            customer_id=customer.pk,
            amount=amount,
            kind=Kind.REDEMPTION,
            actor=actor,
            reference=reference,
        )


def wallet_goodwill(
    *, email: str, amount: Decimal, reason: str, actor: str, currency: str | None = None
) -> WalletEntry:
    """A supervisor's goodwill credit, with the reason on the entry. The
    wallet's currency, else ``currency``, else the customer's last order's."""
    return wallet_goodwill_for(
        customer=customer_by_email(email),
        amount=amount,
        reason=reason,
        actor=actor,
        currency=currency,
    )


def wallet_goodwill_for(
    *, customer: Customer, amount: Decimal, reason: str, actor: str, currency: str | None = None
) -> WalletEntry:
    if not reason.strip():
        raise ApplicationError(
            "reason: a goodwill credit needs a reason.", extra={"field": "reason"}
        )
    with transaction.atomic():
        wallet = Wallet.objects.filter(customer=customer).first()
        currency = (
            (wallet.currency if wallet else None)
            or currency
            or Order.objects.filter(customer=customer)
            .order_by("-placed_at")
            .values_list("currency", flat=True)
            .first()
        )
        if currency is None:
            raise ApplicationError(
                "currency: the customer has no wallet or order; say which currency.",
                extra={"field": "currency"},
            )
        return wallet_credit(
            customer_id=customer.pk,
            currency=currency,
            amount=amount,
            kind=Kind.GOODWILL,
            actor=actor,
            reason=reason.strip(),
            reference="goodwill",
        )
