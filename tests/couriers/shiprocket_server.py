"""A local Shiprocket: the documented endpoints the adapter uses, on a port
the OS picks, recording every request so tests assert what was sent.

- POST /v1/external/auth/login                {email, password} -> {token}
- GET  /v1/external/courier/serviceability/   -> available_courier_companies (empty: 404 body)
- GET  /v1/external/orders?search=            -> {data: [orders whose channel_order_id matches]}
- POST /v1/external/orders/create/return      -> {order_id, shipment_id, status: RETURN PENDING}
- POST /v1/external/orders/create/adhoc       -> {order_id, shipment_id, status: NEW}
- POST /v1/external/courier/assign/awb        -> {awb_assign_status: 1, response.data.awb_code}
- POST /v1/external/courier/generate/pickup   -> {pickup_status: 1, response.pickup_scheduled_date}

Knobs: ``expire_tokens()`` (every token given so far answers 401),
``fail(path, status, times)`` (the next ``times`` calls to ``path`` answer
``status``), ``unserviceable`` (pincodes with no courier).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class Call:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class FakeShiprocket:
    email: str = "api@brand.example"
    password: str = "s3cret-pass"
    calls: list[Call] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    orders: dict[str, dict] = field(default_factory=dict)
    failures: dict[str, list[int]] = field(default_factory=dict)
    unserviceable: set[str] = field(default_factory=set)
    lose: set[str] = field(default_factory=set)
    pickup_date: str = "2026-12-03 10:00:00"
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1001))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- knobs -------------------------------------------------------------------

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def fail(self, path: str, status: int, times: int = 1) -> None:
        with self._lock:
            self.failures.setdefault(path, []).extend([status] * times)

    def lose_answer(self, path: str) -> None:
        """The next call to ``path`` is carried out, but answers 502."""
        with self._lock:
            self.lose.add(path)

    def paths(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    # --- the API -----------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, headers: dict, body) -> tuple[int, dict]:
        with self._lock:
            self.calls.append(Call(method, path, query, headers, body))
            pending = self.failures.get(path)
            if pending:
                return pending.pop(0), {"message": "Internal Server Error", "status_code": 500}
            if path == "/v1/external/auth/login":
                if body != {"email": self.email, "password": self.password}:
                    return 401, {"message": "Invalid email and password combination"}
                token = f"tok-{next(self._ids)}"
                self.tokens.add(token)
                return 200, {"token": token, "email": self.email, "id": 1}
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                return 401, {"message": "Unauthenticated.", "status_code": 401}
            status, answer = self._route(method, path, query, body)
            if path in self.lose:
                self.lose.discard(path)
                return 502, {"message": "Bad Gateway"}
            return status, answer

    def _route(self, method, path, query, body) -> tuple[int, dict]:
        if method == "GET" and path == "/v1/external/courier/serviceability/":
            if query.get("pickup_postcode") in self.unserviceable:
                return 200, {"status": 404, "message": "No courier serviceable"}
            return 200, {
                "status": 200,
                "data": {
                    "available_courier_companies": [
                        {"courier_company_id": 43, "courier_name": "Delhivery Surface"}
                    ]
                },
            }
        if method == "GET" and path == "/v1/external/orders":
            found = [
                o for o in self.orders.values() if o["channel_order_id"] == query.get("search")
            ]
            return 200, {"data": found, "meta": {"pagination": {"total": len(found)}}}
        if method == "POST" and path in (
            "/v1/external/orders/create/return",
            "/v1/external/orders/create/adhoc",
        ):
            if body.get("order_id") in self.orders:
                return 422, {
                    "message": "Oops! Invalid Data.",
                    "errors": {"order_id": ["The order id has already been taken."]},
                    "status_code": 422,
                }
            order_id, shipment_id = next(self._ids), next(self._ids)
            self.orders[body["order_id"]] = {
                "id": order_id,
                "channel_order_id": body["order_id"],
                "status": "RETURN PENDING" if path.endswith("return") else "NEW",
                "shipments": [
                    {
                        "id": shipment_id,
                        "awb": "",
                        "courier": "",
                        "pickup_scheduled_date": None,
                        "pickup_token_number": None,
                    }
                ],
            }
            return 200, {
                "order_id": order_id,
                "shipment_id": shipment_id,
                "status": self.orders[body["order_id"]]["status"],
                "status_code": 21 if path.endswith("return") else 1,
            }
        shipment = self._shipment(body)
        if method == "POST" and path == "/v1/external/courier/assign/awb":
            if shipment is None:
                return 422, {"message": "Required field missing", "status_code": 422}
            shipment["awb"] = shipment["awb"] or f"7700{shipment['id']}"
            shipment["courier"] = "Delhivery Surface"
            return 200, {
                "awb_assign_status": 1,
                "response": {
                    "data": {
                        "awb_code": shipment["awb"],
                        "courier_name": "Delhivery Surface",
                        "courier_company_id": 43,
                        "shipment_id": shipment["id"],
                        "pickup_scheduled_date": None,
                    }
                },
            }
        if method == "POST" and path == "/v1/external/courier/generate/pickup":
            if shipment is None or not shipment["awb"]:
                return 400, {"message": "AWB not assigned", "status_code": 400}
            date = (body.get("pickup_date") or [None])[0]
            scheduled = f"{date} 10:00:00" if date else self.pickup_date
            shipment["pickup_scheduled_date"] = scheduled
            shipment["pickup_token_number"] = f"Reference No: {shipment['id']}"
            return 200, {
                "pickup_status": 1,
                "response": {
                    "pickup_scheduled_date": scheduled,
                    "pickup_token_number": shipment["pickup_token_number"],
                    "status": 3,
                    "data": "Pickup is scheduled",
                },
            }
        return 404, {"message": "404 Not Found", "status_code": 404}

    def _shipment(self, body) -> dict | None:
        if not isinstance(body, dict):
            return None
        wanted = body.get("shipment_id")
        wanted = wanted[0] if isinstance(wanted, list) and wanted else wanted
        for order in self.orders.values():
            for shipment in order["shipments"]:
                if shipment["id"] == wanted:
                    return shipment
        return None


def serve(fake: FakeShiprocket) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def _do(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(method, url.path, query, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._do("GET")

        def do_POST(self):
            self._do("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
