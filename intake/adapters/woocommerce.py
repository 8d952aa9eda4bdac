"""WooCommerce (REST v3 JSON, as its webhooks send it) → native order model.

Choices:

- Ids as strings; lines keyed by their line item id, which refunds name in
  ``meta_data._refunded_item_id``.
- WooCommerce stores line totals excluding tax. With ``prices_include_tax``
  the unit price is (subtotal + subtotal_tax) / quantity, so the native
  tax-inclusive rule applies to the same gross figures the shopper saw.
- Discounts: coupon lines are already allocated to lines by WooCommerce
  (``subtotal`` − ``total`` per line); that allocation is the line's
  discount, and the order discount is 0.
- Tax: the line's ``total_tax`` (after coupons) is its tax, which the order
  model splits over the units exactly, so WooCommerce's per-line rounding is
  kept. The rate (``tax_lines[].rate_percent`` of the rates the line uses,
  else total_tax / total) is kept for reference. Lines, tax and shipping must
  add up to ``total`` (``check_adds_up``).
- Shipping: Σ shipping lines (total + total_tax).
- Fee lines: folded into the order's shipping charge, with their tax. A fee is
  an order-level charge, not a piece anyone ships or returns; as a line it
  would become a unit that reserves stock and could be "returned". A negative
  fee (a discount in disguise) is refused.
- Tender: ``payment_method`` ``cod`` → cash on delivery, a gift card method →
  gift card, anything else → card, for ``total``, with the gateway id kept.
  ``razorpay`` / ``stripe…`` with the provider's payment id in
  ``transaction_id`` (pay_…, pi_…/ch_…) becomes a ``razorpay``/``stripe``
  tender, refunded through the provider.
- Not payable yet (``pending``, ``on-hold``, ``failed``, ``checkout-draft``,
  or ``cancelled`` before payment): held, not created.
- Quantities must be whole: a fractional quantity is refused.
- Refunds: WooCommerce has no refund webhook topic of its own; a refund
  object (``GET /orders/<id>/refunds/<id>``) is accepted under the topic
  ``refund.created`` (sent by a store-side hook). Its order is ``order_id``
  or ``parent_id``, else the ``_links.up`` URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
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
    ident,
    jsonable,
    money,
    provider_tender,
    unwrap,
    when,
    whole,
)

PLATFORM = "woocommerce"
ZERO = Decimal("0")
CENT = Decimal("0.01")
PAYABLE = {"processing", "completed", "refunded"}


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """``X-WC-Webhook-Signature``: base64 of HMAC-SHA256 over the raw body."""
    if not secret or not header:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode())


def method_for(payment_method: str) -> str:
    name = payment_method.strip().lower()
    if name == "cod":
        return PaymentMethod.COD
    if "gift" in name:
        return PaymentMethod.GIFT_CARD
    return PaymentMethod.CARD


def _rates(order: dict) -> dict[str, Decimal]:
    rates = {}
    for j, tax in enumerate(order.get("tax_lines") or []):
        if tax.get("rate_percent") not in (None, ""):
            rates[str(tax.get("rate_id"))] = money(
                tax.get("rate_percent"), f"tax_lines[{j}].rate_percent"
            )
    return rates


def _line_rate(item: dict, rates: dict[str, Decimal], total: Decimal, tax: Decimal, f: str):
    used = [
        str(t.get("id"))
        for t in item.get("taxes") or []
        if money(t.get("total"), f"{f}.taxes.total", default=ZERO) != 0
    ]
    if used and all(u in rates for u in used):
        rate = sum((rates[u] for u in used), ZERO)
    elif tax == 0:
        rate = ZERO
    elif total > 0:
        rate = (tax / total * 100).quantize(CENT)
    else:
        raise PayloadError(f"{f}.total_tax", "tax on a line with no value")
    if rate != rate.quantize(CENT):
        raise PayloadError(f"{f}.taxes", f"rate {rate} has more precision than the model keeps")
    return rate.quantize(CENT)


def order_from_payload(payload: object, *, channel: str) -> OrderIntake:
    order = unwrap(payload, "order")
    external_id = ident(order.get("id"))
    currency = str(order.get("currency") or "").upper()
    if not currency:
        raise PayloadError("currency", "is missing")
    include = bool(order.get("prices_include_tax"))
    placed_at = when(order.get("date_created_gmt") or order.get("date_created"), "date_created")
    if placed_at is None:
        raise PayloadError("date_created_gmt", "is missing")
    rates = _rates(order)

    raw_lines = order.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise PayloadError("line_items", "an order needs at least one line item")
    lines: list[LineData] = []
    skus = {}
    for i, item in enumerate(raw_lines):
        f = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise PayloadError(f, "is not an object")
        quantity = whole(item.get("quantity"), f"{f}.quantity")
        if quantity <= 0:
            raise PayloadError(f"{f}.quantity", "must be positive")
        subtotal = money(item.get("subtotal"), f"{f}.subtotal")
        subtotal_tax = money(item.get("subtotal_tax"), f"{f}.subtotal_tax", default=ZERO)
        total = money(item.get("total"), f"{f}.total")
        total_tax = money(item.get("total_tax"), f"{f}.total_tax", default=ZERO)
        gross = subtotal + subtotal_tax if include else subtotal
        paid = total + total_tax if include else total
        unit_price = gross / quantity
        if unit_price != unit_price.quantize(CENT):
            raise PayloadError(
                f"{f}.subtotal", f"{gross} does not split into {quantity} equal unit prices"
            )
        unit_price = cents(unit_price.quantize(CENT), currency, f"{f}.subtotal")
        discount = cents(gross - paid, currency, f"{f}.total")
        if discount < 0:
            raise PayloadError(f"{f}.total", f"{paid} is more than the subtotal {gross}")
        rate = _line_rate(item, rates, total, total_tax, f)
        cents(total_tax, currency, f"{f}.total_tax")
        sku = str(item.get("sku") or "").strip()
        product = item.get("product_id")
        if not sku:
            if product in (None, "", "0"):
                raise PayloadError(f"{f}.sku", "no SKU and no product id")
            variation = item.get("variation_id")
            sku = f"WC-{ident(product, f'{f}.product_id')}"
            if variation not in (None, "", "0"):
                sku += f"-{ident(variation, f'{f}.variation_id')}"
        lines.append(
            LineData(
                sku=sku[:100],
                quantity=quantity,
                unit_price=unit_price,
                tax_rate=rate,
                discount=discount,
                external_id=ident(item.get("id"), f"{f}.id"),
                tax=total_tax,
            )
        )
        skus[sku[:100]] = SkuInfo(
            code=sku[:100],
            name=str(item.get("name") or sku)[:255],
            price=unit_price,
            tax_rate=rate,
            product=f"woocommerce-{product}" if product not in (None, "") else f"woocommerce-{sku}",
        )

    shipping = ZERO
    for j, ship in enumerate(order.get("shipping_lines") or []):
        f = f"shipping_lines[{j}]"
        shipping += money(ship.get("total"), f"{f}.total") + money(
            ship.get("total_tax"), f"{f}.total_tax", default=ZERO
        )
    for j, fee in enumerate(order.get("fee_lines") or []):
        f = f"fee_lines[{j}]"
        amount = money(fee.get("total"), f"{f}.total") + money(
            fee.get("total_tax"), f"{f}.total_tax", default=ZERO
        )
        if amount < 0:
            raise PayloadError(f, f"a negative fee ({amount}) is a discount; send it as a coupon")
        shipping += amount
    cents(shipping, currency, "shipping_lines")

    total = money(order.get("total"), "total")
    method = str(order.get("payment_method") or "")
    transaction_id = str(order.get("transaction_id") or "")[:100]
    provider = provider_tender(method, [transaction_id])
    tenders = (
        [
            PaymentData(
                method=method_for(method),
                amount=total,
                gateway=(provider[0] if provider else method)[:50],
                reference=transaction_id,
            )
        ]
        if total > 0
        else []
    )
    status = str(order.get("status") or "")
    paid_at = order.get("date_paid_gmt") or order.get("date_paid")
    cancelled = status == "cancelled"
    hold = ""
    if status not in PAYABLE and not (cancelled and paid_at):
        hold = f"status is {status!r}: not paid yet, so not created"

    billing = order.get("billing") or {}
    data = OrderData(
        channel=channel,
        external_id=external_id,
        currency=currency,
        placed_at=placed_at,
        lines=lines,
        payments=tenders,
        customer={
            "email": billing.get("email") or "",
            "phone": str(billing.get("phone") or "")[:32],
            "name": " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p)[
                :200
            ],
        },
        prices_include_tax=include,
        order_discount=ZERO,
        shipping=shipping,
        raw=jsonable(order),
    )
    intake = OrderIntake(
        data=data,
        skus=skus,
        platform_total=total,
        cancelled=cancelled,
        hold_reason=hold,
        updated_at=when(order.get("date_modified_gmt"), "date_modified_gmt"),
    )
    check_adds_up(intake, "line_items")
    return intake


_UP = re.compile(r"/orders/(\d+)/?$")


def _refund_order_id(refund: dict) -> str:
    for key in ("order_id", "parent_id"):
        if refund.get(key) not in (None, "", "0"):
            return ident(refund.get(key), key)
    for link in (refund.get("_links") or {}).get("up") or []:
        match = _UP.search(str(link.get("href") or ""))
        if match:
            return match.group(1)
    raise PayloadError("order_id", "the refund does not say which order it belongs to")


def refund_from_payload(payload: object) -> RefundIntake:
    refund = unwrap(payload, "refund")
    lines = []
    for i, item in enumerate(refund.get("line_items") or []):
        f = f"line_items[{i}]"
        refunded_item = next(
            (
                m.get("value")
                for m in item.get("meta_data") or []
                if m.get("key") == "_refunded_item_id"
            ),
            None,
        )
        lines.append(
            RefundLineIntake(
                line_external_id=ident(refunded_item, f"{f}.meta_data._refunded_item_id"),
                quantity=abs(whole(item.get("quantity"), f"{f}.quantity")),
                subtotal=abs(money(item.get("total"), f"{f}.total")),
                tax=abs(money(item.get("total_tax"), f"{f}.total_tax", default=ZERO)),
            )
        )
    return RefundIntake(
        external_id=ident(refund.get("id")),
        order_external_id=_refund_order_id(refund),
        currency="",
        amount=abs(money(refund.get("amount"), "amount")),
        lines=lines,
        processed_at=when(
            refund.get("date_created_gmt") or refund.get("date_created"), "date_created_gmt"
        ),
        note=str(refund.get("reason") or "")[:500],
        raw=jsonable(refund),
    )
