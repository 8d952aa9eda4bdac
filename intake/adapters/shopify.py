"""Shopify (REST/webhook JSON) → native order model.

Choices, each because the native model or the money rules need it:

- Ids: ``id`` as sent, digit for digit (``admin_graphql_api_id``'s tail when
  ``id`` is absent). Lines are keyed by their line item id, so refunds find
  them by ``line_item_id``.
- Amounts: shop money (``*_set.shop_money``) where given, else the bare field;
  presentment money is not used.
- Discounts: each line's ``discount_allocations`` sum is its discount, so
  Shopify's own split (10.00 → 3.34/3.33/3.33) is kept; the unit split inside
  a line follows DOMAIN.md. Any part of ``total_discounts`` not allocated to a
  line or a shipping line becomes the order discount, split by DOMAIN.md.
- Tax: ``taxes_included``; the line's rate is the sum of its ``tax_lines``
  rates (kept for reference), and the line's tax is the sum of its
  ``tax_lines`` prices, which the order model splits over the units exactly,
  so Shopify's own per-line rounding is kept. Lines, discounts, tax and
  shipping must add up to ``total_price`` (``check_adds_up``), else the
  payload is refused.
- Shipping: Σ shipping line price − its discount allocations (+ its tax when
  taxes are excluded).
- Tenders: ``payment_gateway_names`` → method; split by successful
  sale/capture transactions when the payload carries them and they add up,
  else one tender for ``total_price``. A Razorpay or Stripe transaction with
  the provider's payment id (``authorization`` or ``receipt``) becomes a
  ``razorpay``/``stripe`` tender with that id, refunded through the provider.
- Not payable yet (``authorized``, ``pending`` other than cash on delivery,
  ``partially_paid``, ``voided``, ``expired``): held, not created; the
  ``orders/updated`` that reports it paid creates it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from decimal import Decimal

from orders.services import LineData, OrderData, PaymentData
from orders.states import PaymentMethod

from . import (
    OrderIntake,
    PayloadError,
    RefundIntake,
    RefundLineIntake,
    SkuInfo,
    cents,
    check_adds_up,
    gid_tail,
    ident,
    jsonable,
    money,
    provider_tender,
    unwrap,
    when,
    whole,
)

PLATFORM = "shopify"
ZERO = Decimal("0")
PAYABLE = {"paid", "partially_refunded", "refunded"}


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 over the raw body."""
    if not secret or not header:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode())


def _amount(obj: dict, key: str, field: str, *, default: Decimal | None = None) -> Decimal:
    shop = ((obj.get(f"{key}_set") or {}).get("shop_money") or {}).get("amount")
    return money(shop if shop is not None else obj.get(key), field, default=default)


def _sum(items, key: str, field: str) -> Decimal:
    return sum(
        (_amount(item, key, f"{field}[{j}].{key}") for j, item in enumerate(items or [])), ZERO
    )


def _rate_percent(tax_lines: list, field: str) -> Decimal:
    rate = sum(
        (money(t.get("rate"), f"{field}[{j}].rate", default=ZERO) for j, t in enumerate(tax_lines)),
        ZERO,
    )
    percent = rate * 100
    if percent != percent.quantize(Decimal("0.01")):
        raise PayloadError(field, f"rate {rate} has more precision than the order model keeps")
    return percent.quantize(Decimal("0.01"))


def method_for(gateway: str) -> str:
    name = gateway.strip().lower()
    if "cash on delivery" in name or name in {"cash_on_delivery", "cod"}:
        return PaymentMethod.COD
    if "gift_card" in name or "gift card" in name:
        return PaymentMethod.GIFT_CARD
    if "store_credit" in name or "store credit" in name:
        return PaymentMethod.STORE_CREDIT
    return PaymentMethod.CARD


def _tenders(payload: dict, total: Decimal) -> list[PaymentData]:
    gateways = [str(g) for g in payload.get("payment_gateway_names") or [] if g]
    # (platform gateway name, provider, payment id) → amount; the provider and
    # its payment id only for Razorpay/Stripe transactions that carry one.
    by_gateway: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for j, tx in enumerate(payload.get("transactions") or []):
        if tx.get("kind") in {"sale", "capture"} and tx.get("status") in {None, "success"}:
            name = str(tx.get("gateway") or "")
            receipt = tx.get("receipt") if isinstance(tx.get("receipt"), dict) else {}
            provider = provider_tender(
                name,
                [
                    tx.get("authorization"),
                    receipt.get("payment_intent"),
                    receipt.get("payment_id"),
                    receipt.get("id"),
                    receipt.get("charge"),
                ],
            )
            key = (name, *provider) if provider else (name, "", "")
            by_gateway[key] += money(tx.get("amount"), f"transactions[{j}].amount")
    if by_gateway and sum(by_gateway.values(), ZERO) == total:
        return [
            PaymentData(
                method=method_for(name), amount=a, gateway=(provider or name)[:50], reference=ref
            )
            for (name, provider, ref), a in by_gateway.items()
            if a > 0
        ]
    if total <= 0:
        return []
    methods = {method_for(g) for g in gateways}
    method = methods.pop() if len(methods) == 1 else PaymentMethod.CARD
    return [PaymentData(method=method, amount=total, gateway=", ".join(gateways)[:50])]


def _customer(payload: dict) -> dict:
    customer = payload.get("customer") or {}
    billing = payload.get("billing_address") or {}
    name = " ".join(
        part for part in (customer.get("first_name"), customer.get("last_name")) if part
    ) or (billing.get("name") or "")
    return {
        "email": payload.get("email")
        or payload.get("contact_email")
        or customer.get("email")
        or "",
        "phone": (payload.get("phone") or customer.get("phone") or billing.get("phone") or "")[:32],
        "name": name[:200],
    }


def order_external_id(payload: dict) -> str:
    if payload.get("id") not in (None, ""):
        return ident(payload.get("id"))
    tail = gid_tail(payload.get("admin_graphql_api_id"))
    if not tail:
        raise PayloadError("id", "is missing")
    return tail


def order_from_payload(payload: object, *, channel: str) -> OrderIntake:
    order = unwrap(payload, "order")
    external_id = order_external_id(order)
    currency = str(order.get("currency") or "").upper()
    if not currency:
        raise PayloadError("currency", "is missing")
    taxes_included = bool(order.get("taxes_included"))
    placed_at = when(order.get("processed_at") or order.get("created_at"), "created_at")
    if placed_at is None:
        raise PayloadError("created_at", "is missing")

    raw_lines = order.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise PayloadError("line_items", "an order needs at least one line item")
    lines: list[LineData] = []
    skus: dict[str, SkuInfo] = {}
    allocated = ZERO
    for i, item in enumerate(raw_lines):
        f = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(f, "is not an object")
        quantity = whole(item.get("quantity"), f"{f}.quantity")
        if quantity <= 0:
            continue  # removed by an order edit
        price = cents(_amount(item, "price", f"{f}.price"), currency, f"{f}.price")
        discount = _sum(item.get("discount_allocations"), "amount", f"{f}.discount_allocations")
        allocated += discount
        tax_lines = item.get("tax_lines") or []
        rate = _rate_percent(tax_lines, f"{f}.tax_lines")
        tax = cents(_sum(tax_lines, "price", f"{f}.tax_lines"), currency, f"{f}.tax_lines")
        sku = str(item.get("sku") or "").strip()
        if not sku:
            variant = item.get("variant_id") or item.get("product_id")
            if variant in (None, ""):
                raise PayloadError(f"{f}.sku", "no SKU and no variant id")
            sku = f"SHOPIFY-{ident(variant, f'{f}.variant_id')}"
        line_id = ident(item.get("id"), f"{f}.id")
        lines.append(
            LineData(
                sku=sku[:100],
                quantity=quantity,
                unit_price=price,
                tax_rate=rate,
                discount=discount,
                external_id=line_id,
                tax=tax,
            )
        )
        product = item.get("product_id")
        skus[sku[:100]] = SkuInfo(
            code=sku[:100],
            name=str(item.get("name") or item.get("title") or sku)[:255],
            price=price,
            tax_rate=rate,
            product=f"shopify-{product}" if product not in (None, "") else f"shopify-{sku}",
        )

    shipping = ZERO
    for j, ship in enumerate(order.get("shipping_lines") or []):
        f = f"shipping_lines[{j}]"
        if ship.get("is_removed"):
            continue
        ship_discount = _sum(
            ship.get("discount_allocations"), "amount", f"{f}.discount_allocations"
        )
        allocated += ship_discount
        shipping += _amount(ship, "price", f"{f}.price") - ship_discount
        if not taxes_included:
            shipping += _sum(ship.get("tax_lines"), "price", f"{f}.tax_lines")
    if shipping < 0:
        raise PayloadError("shipping_lines", f"shipping adds up to {shipping}, below zero")

    total_discounts = _amount(order, "total_discounts", "total_discounts", default=ZERO)
    order_discount = total_discounts - allocated
    if order_discount < 0:
        raise PayloadError(
            "total_discounts",
            f"{total_discounts} is less than the {allocated} allocated to lines and shipping",
        )
    total = _amount(order, "total_price", "total_price")
    tenders = _tenders(order, total)

    financial = str(order.get("financial_status") or "paid")
    hold = ""
    if financial not in PAYABLE:
        cod_only = tenders and all(t.method == PaymentMethod.COD for t in tenders)
        if not (financial == "pending" and cod_only):
            hold = f"financial_status is {financial!r}: not paid yet, so not created"

    data = OrderData(
        channel=channel,
        external_id=external_id,
        currency=currency,
        placed_at=placed_at,
        lines=lines,
        payments=tenders,
        customer=_customer(order),
        prices_include_tax=taxes_included,
        order_discount=order_discount,
        shipping=shipping,
        raw=jsonable(order),
    )
    intake = OrderIntake(
        data=data,
        skus=skus,
        platform_total=total,
        cancelled=order.get("cancelled_at") not in (None, ""),
        hold_reason=hold,
        updated_at=when(order.get("updated_at"), "updated_at"),
        refunds=[
            refund_from_payload(r, order_external_id=external_id, currency=currency)
            for r in order.get("refunds") or []
        ],
    )
    if not lines:
        raise PayloadError("line_items", "every line item has quantity 0")
    check_adds_up(intake, "line_items")
    return intake


def refund_from_payload(
    payload: object, *, order_external_id: str | None = None, currency: str | None = None
) -> RefundIntake:
    refund = unwrap(payload, "refund")
    transactions = refund.get("transactions") or []
    if refund.get("id") in (None, ""):
        if any(t.get("kind") == "suggested_refund" for t in transactions):
            raise PayloadError(
                "id",
                "missing: this is a refunds/calculate suggestion, not a refund that happened",
                code="not_a_refund",
            )
        raise PayloadError("id", "is missing")
    refund_id = ident(refund.get("id"))
    order_id = order_external_id or ident(refund.get("order_id"), "order_id")
    lines = []
    subtotal_currency = None
    for i, item in enumerate(refund.get("refund_line_items") or []):
        f = f"refund_line_items[{i}]"
        line_id = item.get("line_item_id")
        if line_id in (None, ""):
            line_id = (item.get("line_item") or {}).get("id")
        subtotal_currency = subtotal_currency or (
            ((item.get("subtotal_set") or {}).get("shop_money") or {}).get("currency_code")
        )
        lines.append(
            RefundLineIntake(
                line_external_id=ident(line_id, f"{f}.line_item_id"),
                quantity=whole(item.get("quantity"), f"{f}.quantity"),
                subtotal=_amount(item, "subtotal", f"{f}.subtotal"),
                tax=_amount(item, "total_tax", f"{f}.total_tax", default=ZERO),
                restock_type=str(item.get("restock_type") or "")[:30],
            )
        )
    amount = ZERO
    tx_currency = None
    for j, tx in enumerate(transactions):
        if tx.get("kind") == "refund" and tx.get("status") in {None, "success"}:
            amount += money(tx.get("amount"), f"transactions[{j}].amount")
            tx_currency = tx_currency or tx.get("currency")
    shipping = sum(
        (
            _amount(s, "subtotal", f"refund_shipping_lines[{j}].subtotal", default=ZERO)
            for j, s in enumerate(refund.get("refund_shipping_lines") or [])
        ),
        ZERO,
    )
    adjustments = sum(
        (
            money(a.get("amount"), f"order_adjustments[{j}].amount")
            for j, a in enumerate(refund.get("order_adjustments") or [])
        ),
        ZERO,
    )
    return RefundIntake(
        external_id=refund_id,
        order_external_id=order_id,
        currency=str(currency or tx_currency or subtotal_currency or "").upper(),
        amount=amount,
        lines=lines,
        processed_at=when(refund.get("processed_at") or refund.get("created_at"), "processed_at"),
        shipping=shipping,
        adjustments=adjustments,
        note=str(refund.get("note") or "")[:500],
        raw=jsonable(refund),
    )
