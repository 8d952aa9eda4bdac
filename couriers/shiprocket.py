"""Shiprocket's documented REST API (apidocs.shiprocket.in; the OpenAPI
description in github.com/api-evangelist/shiprocket), over ``requests``.

Paths used, appended to ``SHIPROCKET_BASE_URL``:

- ``POST /v1/external/auth/login``: ``{email, password}`` → ``{token}``, a JWT
  valid ten days. Cached until it expires; a 401 logs in again, once.
- ``GET /v1/external/courier/serviceability/``: reverse pickup possible at
  the customer's pincode (``is_return=1``)?
- ``GET /v1/external/orders?search=<our id>``: the order an earlier attempt
  created (Shiprocket has no idempotency key).
- ``POST /v1/external/orders/create/return`` and ``.../create/adhoc``: the
  return order and a forward order, ``order_id`` = our id.
- ``POST /v1/external/courier/assign/awb``: ``{shipment_id}`` → AWB and courier.
- ``POST /v1/external/courier/generate/pickup``: ``{shipment_id: [id]}`` →
  ``pickup_scheduled_date`` (with ``pickup_date`` to reschedule).

Every call has a connect and read timeout; timeouts, connection errors and
5xx are retried ``SHIPROCKET_MAX_ATTEMPTS`` times in all, then raised as a
retryable ``CourierError`` for the booking job to retry later.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import requests
from django.utils import timezone

from .base import Booking, CourierError, CourierOrderData, Unserviceable

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://apiv2.shiprocket.in"
INDIA = ZoneInfo("Asia/Kolkata")  # Shiprocket's dates carry no zone
TOKEN_LIFETIME = timedelta(days=10)  # documented validity of the login token
TOKEN_MARGIN = timedelta(minutes=5)
_tokens: dict[tuple[str, str], tuple[str, datetime]] = {}
_tokens_lock = threading.Lock()


def token_cache_clear() -> None:
    with _tokens_lock:
        _tokens.clear()


def _jwt_expiry(token: str) -> datetime | None:
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (IndexError, KeyError, ValueError, TypeError):
        return None


def _amount(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _date(value) -> datetime | None:
    """Shiprocket's 'YYYY-MM-DD HH:MM:SS' (India time) as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value[:19], fmt).replace(tzinfo=INDIA)
        except ValueError:
            continue
    return None


class ShiprocketCourier:
    name = "shiprocket"

    def __init__(
        self,
        *,
        email: str,
        password: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: tuple[float, float] = (5.0, 20.0),
        max_attempts: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ):
        self.email, self.password = email, password
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.session = session or requests.Session()

    def books(self) -> bool:
        return True

    # --- transport -------------------------------------------------------------

    def _token(self, *, fresh: bool = False) -> str:
        key = (self.base_url, self.email)
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached and not fresh and cached[1] - TOKEN_MARGIN > timezone.now():
            return cached[0]
        body = self._send(
            "POST",
            "/v1/external/auth/login",
            json={"email": self.email, "password": self.password},
            auth=False,
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not token:
            raise CourierError("Shiprocket login returned no token.", retryable=False)
        expires = _jwt_expiry(token) or timezone.now() + TOKEN_LIFETIME
        with _tokens_lock:
            _tokens[key] = (token, expires)
        return token

    def _send(self, method: str, path: str, *, auth: bool = True, **kwargs):
        url = self.base_url + path
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {self._token(fresh=renewed)}"
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if attempt < self.max_attempts:
                    self._wait(attempt)
                    continue
                raise CourierError(f"{method} {path}: {type(exc).__name__}") from exc
            status = response.status_code
            if status == 401 and auth and not renewed:
                renewed = True  # the token expired early or was revoked: log in once more
                attempt -= 1
                continue
            if status >= 500 or status == 429:
                if attempt < self.max_attempts:
                    self._wait(attempt)
                    continue
                raise CourierError(f"{method} {path}: HTTP {status}", status=status)
            body = self._json(response)
            if status >= 400:
                message = body.get("message") if isinstance(body, dict) else None
                raise CourierError(
                    f"{method} {path}: HTTP {status} {message or ''}".strip(),
                    retryable=status in (401, 408, 409),
                    status=status,
                )
            return body

    def _wait(self, attempt: int) -> None:
        if self.backoff:
            time.sleep(self.backoff * 2 ** (attempt - 1))

    @staticmethod
    def _json(response: requests.Response):
        try:
            return response.json()
        except ValueError:
            return {}

    # --- steps -----------------------------------------------------------------

    def serviceable(self, data: CourierOrderData, *, is_return: bool) -> bool:
        params = {
            "pickup_postcode": data.pickup.pincode,
            "delivery_postcode": data.delivery.pincode,
            "cod": 0,
            "weight": str(data.weight_kg),
            "declared_value": _amount(data.value),
        }
        if is_return:
            params["is_return"] = 1
        try:
            body = self._send("GET", "/v1/external/courier/serviceability/", params=params)
        except CourierError as exc:
            if exc.status in (404, 422):
                return False
            raise
        if not isinstance(body, dict) or body.get("status") not in (None, 200):
            return False
        couriers = (body.get("data") or {}).get("available_courier_companies") or []
        return bool(couriers)

    def lookup(self, reference: str) -> Booking | None:
        """The order an earlier attempt created under our id, if any."""
        body = self._send("GET", "/v1/external/orders", params={"search": reference})
        for order in (body.get("data") or []) if isinstance(body, dict) else []:
            if str(order.get("channel_order_id")) != reference:
                continue
            shipment = (order.get("shipments") or [{}])[0] or {}
            return Booking(
                provider_order_id=str(order.get("id") or ""),
                provider_shipment_id=str(shipment.get("id") or ""),
                awb=str(shipment.get("awb") or ""),
                courier_name=str(shipment.get("courier") or ""),
                pickup_scheduled_at=_date(shipment.get("pickup_scheduled_date")),
                pickup_requested=bool(shipment.get("pickup_token_number")),
            )
        return None

    def _order_payload(self, data: CourierOrderData, *, is_return: bool) -> dict:
        length, breadth, height = data.dimensions_cm
        items = [
            {
                "name": p.name,
                "sku": p.sku,
                "units": p.units,
                "selling_price": _amount(p.unit_price),
            }
            for p in data.items
        ]
        common = {
            "order_id": data.reference,
            "order_date": data.order_date,
            "order_items": items,
            "payment_method": "Prepaid",
            "sub_total": _amount(data.value),
            "length": length,
            "breadth": breadth,
            "height": height,
            "weight": str(data.weight_kg),
        }
        if is_return:
            p, d = data.pickup, data.delivery
            return {
                **common,
                "pickup_customer_name": p.name,
                "pickup_address": p.line1,
                "pickup_address_2": p.line2,
                "pickup_city": p.city,
                "pickup_state": p.state,
                "pickup_country": p.country,
                "pickup_pincode": p.pincode,
                "pickup_email": p.email,
                "pickup_phone": p.phone,
                "shipping_customer_name": d.name,
                "shipping_address": d.line1,
                "shipping_address_2": d.line2,
                "shipping_city": d.city,
                "shipping_state": d.state,
                "shipping_country": d.country,
                "shipping_pincode": d.pincode,
                "shipping_email": d.email,
                "shipping_phone": d.phone,
            }
        d = data.delivery
        return {
            **common,
            "pickup_location": data.pickup_location or data.pickup.name,
            "billing_customer_name": d.name,
            "billing_last_name": "",
            "billing_address": d.line1,
            "billing_address_2": d.line2,
            "billing_city": d.city,
            "billing_state": d.state,
            "billing_country": d.country,
            "billing_pincode": d.pincode,
            "billing_email": d.email,
            "billing_phone": d.phone,
            "shipping_is_billing": True,
        }

    def create_order(self, data: CourierOrderData, *, is_return: bool) -> Booking:
        path = (
            "/v1/external/orders/create/return" if is_return else "/v1/external/orders/create/adhoc"
        )
        body = self._send("POST", path, json=self._order_payload(data, is_return=is_return))
        if not isinstance(body, dict) or not body.get("shipment_id"):
            raise CourierError(f"POST {path}: no shipment_id in the answer")
        return Booking(
            provider_order_id=str(body.get("order_id") or ""),
            provider_shipment_id=str(body["shipment_id"]),
            raw=body,
        )

    def assign_awb(self, booking: Booking) -> Booking:
        body = self._send(
            "POST",
            "/v1/external/courier/assign/awb",
            json={"shipment_id": int(booking.provider_shipment_id)},
        )
        data = ((body or {}).get("response") or {}).get("data") or {}
        if body.get("awb_assign_status") != 1 or not data.get("awb_code"):
            message = body.get("message") or data.get("awb_assign_error") or "no AWB assigned"
            raise CourierError(f"AWB not assigned: {message}")
        booking.awb = str(data["awb_code"])
        booking.courier_name = str(data.get("courier_name") or "")
        booking.pickup_scheduled_at = _date(data.get("pickup_scheduled_date"))
        return booking

    def generate_pickup(self, booking: Booking, *, pickup_date: str | None = None) -> Booking:
        payload: dict = {"shipment_id": [int(booking.provider_shipment_id)]}
        if pickup_date:
            payload["pickup_date"] = [pickup_date]
        body = self._send("POST", "/v1/external/courier/generate/pickup", json=payload)
        response = (body or {}).get("response") or {}
        if body.get("pickup_status") != 1:
            raise CourierError(f"pickup not scheduled: {body.get('message') or response}")
        booking.pickup_scheduled_at = (
            _date(response.get("pickup_scheduled_date")) or booking.pickup_scheduled_at
        )
        booking.pickup_requested = True
        return booking

    # --- the interface ---------------------------------------------------------

    def _book(self, data: CourierOrderData, known: Booking, *, is_return: bool) -> Booking:
        booking = known
        if not booking.provider_shipment_id:
            if is_return and not self.serviceable(data, is_return=True):
                raise Unserviceable(f"no courier picks up returns at pincode {data.pickup.pincode}")
            found = self.lookup(data.reference)
            if found is None:
                try:
                    found = self.create_order(data, is_return=is_return)
                except CourierError as exc:
                    # 422 "order id has already been taken": an earlier call
                    # created it and its answer was lost. Ours is that order.
                    if exc.status != 422:
                        raise
                    found = self.lookup(data.reference)
                    if found is None:
                        raise
            for name in ("provider_order_id", "provider_shipment_id", "awb", "courier_name"):
                setattr(booking, name, getattr(found, name) or getattr(booking, name))
            booking.pickup_scheduled_at = found.pickup_scheduled_at or booking.pickup_scheduled_at
            booking.pickup_requested = found.pickup_requested or booking.pickup_requested
        if not booking.awb:
            booking = self.assign_awb(booking)
        if not booking.pickup_requested:
            booking = self.generate_pickup(booking)
        return booking

    def book_return(self, data: CourierOrderData, known: Booking) -> Booking:
        return self._book(data, known, is_return=True)

    def book_forward(self, data: CourierOrderData, known: Booking) -> Booking:
        return self._book(data, known, is_return=False)

    def reschedule_pickup(self, known: Booking) -> Booking:
        tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
        return self.generate_pickup(known, pickup_date=tomorrow)
