"""Platform payload → native order model. Pure functions: no database.

Every adapter returns an ``OrderIntake`` (an ``orders.services.OrderData`` plus
what the platform said that the native model does not hold) or a
``RefundIntake``. Bodies are parsed with ``parse_body``: JSON numbers with a
fraction become ``Decimal`` and integers become ``str``, so money never passes
through a float and 18-digit ids keep every digit. A payload that cannot be
represented raises ``PayloadError`` naming the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings

from oms.errors import ApplicationError
from oms.money import to_minor
from orders.allocation import AllocationError, LineInput, allocate_order
from orders.services import OrderData


class PayloadError(ApplicationError):
    """The payload is malformed or cannot be represented exactly. Retrying does
    not help; the delivery goes to the dead letters."""

    default_code = "invalid_payload"

    def __init__(self, field: str, message: str, code: str | None = None, **extra):
        super().__init__(f"{field}: {message}", code=code, extra={"field": field, **extra})
        self.field = field


def jsonable(value: object) -> object:
    """The parsed payload for a JSONField: amounts as exact strings, like the API."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def parse_body(body: bytes) -> object:
    try:
        return json.loads(body, parse_float=Decimal, parse_int=str, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("body", f"not valid JSON ({exc})", code="malformed_json") from exc
    except RecursionError as exc:
        raise PayloadError("body", "JSON nested too deep", code="malformed_json") from exc


def unwrap(payload: object, key: str) -> dict:
    """Accept the webhook body, or the REST response envelope ``{key: {...}}``."""
    if isinstance(payload, dict) and set(payload) == {key} and isinstance(payload[key], dict):
        payload = payload[key]
    if not isinstance(payload, dict):
        raise PayloadError("body", f"expected a JSON object (a {key})")
    return payload


def money(value: object, field: str, *, default: Decimal | None = None) -> Decimal:
    """A Decimal from a string or a JSON number; never from a float."""
    if value is None or value == "":
        if default is not None:
            return default
        raise PayloadError(field, "is missing")
    if isinstance(value, bool | float):
        raise PayloadError(field, f"{value!r} is not an exact amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise PayloadError(field, f"{value!r} is not an amount") from exc
    if not amount.is_finite():
        raise PayloadError(field, f"{value!r} is not an amount")
    return amount


def cents(amount: Decimal, currency: str, field: str) -> Decimal:
    """``amount`` unchanged, after checking it fits the currency's minor unit."""
    try:
        to_minor(amount, currency)
    except ValueError as exc:
        raise PayloadError(field, f"{amount} has more decimals than {currency} allows") from exc
    return amount


def whole(value: object, field: str) -> int:
    number = money(value, field)
    if number != number.to_integral_value():
        raise PayloadError(field, f"{value} is not a whole quantity")
    return int(number)


def ident(value: object, field: str = "id") -> str:
    """An id as a string, digit for digit. A float here means precision was
    already lost, so it is refused."""
    if value is None or value == "":
        raise PayloadError(field, "is missing")
    if isinstance(value, bool | float | Decimal):
        raise PayloadError(field, f"{value!r} is not an integer id")
    return str(value).strip()


_GID = re.compile(r"^gid://[^/]+/[^/]+/(\d+)$")


def gid_tail(value: object) -> str:
    match = _GID.match(str(value or ""))
    return match.group(1) if match else ""


def when(value: object, field: str, *, naive_is_utc: bool = True) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PayloadError(field, f"{value!r} is not a date-time") from exc
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise PayloadError(field, f"{value!r} has no time zone")
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


@dataclass
class SkuInfo:
    """What the platform says about a line's variant, for creating an unlisted
    SKU when the channel allows it."""

    code: str
    name: str
    price: Decimal
    tax_rate: Decimal
    product: str


@dataclass
class RefundLineIntake:
    line_external_id: str
    quantity: int
    subtotal: Decimal
    tax: Decimal
    restock_type: str = ""


@dataclass
class RefundIntake:
    external_id: str
    order_external_id: str
    currency: str
    amount: Decimal  # money returned: sum of the refund transactions
    lines: list[RefundLineIntake]
    processed_at: datetime | None
    shipping: Decimal = Decimal("0")
    adjustments: Decimal = Decimal("0")
    note: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class OrderIntake:
    data: OrderData
    skus: dict[str, SkuInfo]
    platform_total: Decimal
    cancelled: bool = False
    hold_reason: str = ""  # non-empty: not payable yet, do not create
    updated_at: datetime | None = None
    refunds: list[RefundIntake] = field(default_factory=list)


def check_adds_up(intake: OrderIntake, prefix: str) -> None:
    """Refuse a payload the native model would not reproduce to the cent.

    Each line carries the platform's own tax for the line (``LineData.tax``),
    which the order model splits over the line's units exactly (DOMAIN.md,
    Money), so the units' tax is the platform's per line by construction. What
    is left to check is that lines, discounts, tax and shipping add up to the
    platform's order total; when they do not, the order is refused naming both
    figures, rather than booked with numbers nobody charged.
    """
    data = intake.data
    units = sum(max(ln.quantity, 0) for ln in data.lines)
    if units > settings.OMS_MAX_UNITS_PER_ORDER:
        # Before allocating: splitting money over 10**12 units would never end.
        raise PayloadError(
            "line_items",
            f"{units} units; an order holds at most {settings.OMS_MAX_UNITS_PER_ORDER}",
            code="too_many_units",
            units=units,
            max=settings.OMS_MAX_UNITS_PER_ORDER,
        )
    try:
        alloc = allocate_order(
            currency=data.currency,
            prices_include_tax=data.prices_include_tax,
            lines=[
                LineInput(ln.unit_price, ln.quantity, ln.tax_rate, ln.discount, ln.tax)
                for ln in data.lines
            ],
            order_discount=data.order_discount,
        )
    except AllocationError as exc:
        field = exc.field
        if field.startswith("lines["):
            field = prefix + field.removeprefix("lines")
        raise PayloadError(field, exc.message) from exc
    except ValueError as exc:
        raise PayloadError("amounts", str(exc)) from exc
    for i, (line, units) in enumerate(zip(data.lines, alloc.units, strict=True)):
        ours = sum((u.tax for u in units), Decimal("0"))
        if line.tax is not None and ours != line.tax:  # cannot happen: a guard on the split
            raise PayloadError(
                f"{prefix}[{i}].tax",
                f"the platform charged {line.tax} tax on line {line.external_id} but its units "
                f"carry {ours}",
                code="tax_mismatch",
                platform_tax=str(line.tax),
                computed_tax=str(ours),
            )
    total = alloc.items_total + data.shipping
    if total != intake.platform_total:
        raise PayloadError(
            "total",
            f"the platform's total is {intake.platform_total} but its lines, discounts, tax and "
            f"shipping add up to {total} (items {alloc.items_total} + shipping {data.shipping})",
            code="total_mismatch",
            platform_total=str(intake.platform_total),
            computed_total=str(total),
        )


def provider_tender(gateway_name: str, candidates: list) -> tuple[str, str] | None:
    """(gateway, payment id) when a platform's gateway is Razorpay or Stripe and
    one of ``candidates`` is that provider's payment id, so a refund of the
    tender goes back through the provider's API; None otherwise (the tender
    keeps the platform's own gateway name and refunds offline)."""
    from orders.states import PaymentGateway, gateway_reference_valid

    name = (gateway_name or "").strip().lower()
    if "razorpay" in name:
        provider = PaymentGateway.RAZORPAY
    elif name.startswith("stripe"):
        provider = PaymentGateway.STRIPE
    else:
        return None
    for value in candidates:
        if isinstance(value, str) and value and gateway_reference_valid(provider, value):
            return str(provider), value
    return None
