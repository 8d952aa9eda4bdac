"""Addresses for courier orders: the customer's from the order as the
channel sent it (``shipping_address`` for the native API and Shopify,
``shipping`` for WooCommerce), our location's from ``Location.address``."""

from __future__ import annotations

from .base import Address


def _s(value: object, limit: int = 200) -> str:
    return str(value or "").strip()[:limit]


def customer_address(order) -> Address | None:
    raw = order.raw if isinstance(order.raw, dict) else {}
    got = raw.get("shipping_address")
    if not isinstance(got, dict):
        got = raw.get("shipping") if isinstance(raw.get("shipping"), dict) else None
    if not got:
        return None
    pincode = _s(got.get("pincode") or got.get("zip") or got.get("postcode"), 12)
    if not pincode:
        return None
    name = _s(got.get("name")) or " ".join(
        p for p in (_s(got.get("first_name")), _s(got.get("last_name"))) if p
    )
    return Address(
        name=name or _s(order.customer.name) or order.number,
        line1=_s(got.get("line1") or got.get("address1") or got.get("address_1")),
        line2=_s(got.get("line2") or got.get("address2") or got.get("address_2")),
        city=_s(got.get("city"), 60),
        state=_s(got.get("state") or got.get("province"), 60),
        pincode=pincode,
        country=_s(got.get("country"), 60) or "India",
        phone=_s(got.get("phone"), 32) or order.phone,
        email=order.email,
    )


def location_address(location) -> Address | None:
    got = location.address if isinstance(location.address, dict) else {}
    if not got.get("pincode"):
        return None
    return Address(
        name=_s(got.get("name")) or location.name,
        line1=_s(got.get("line1")),
        line2=_s(got.get("line2")),
        city=_s(got.get("city"), 60),
        state=_s(got.get("state"), 60),
        pincode=_s(got.get("pincode"), 12),
        country=_s(got.get("country"), 60) or "India",
        phone=_s(got.get("phone"), 32),
        email=_s(got.get("email")),
    )


def address_lines(address: Address | None) -> list[str]:
    if address is None:
        return []
    return [
        line
        for line in (
            address.name,
            address.line1,
            address.line2,
            f"{address.city} {address.state} {address.pincode}".strip(),
            address.phone,
        )
        if line
    ]
