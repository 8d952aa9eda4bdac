"""Local stand-ins for the Razorpay and Stripe refund APIs, started by the
test suite (port 0, one thread per request), implementing the documented
endpoints the SDKs call:

- Razorpay: ``POST /v1/payments/{id}/refund`` (JSON; Basic key:secret;
  ``X-Refund-Idempotency``) and ``GET /v1/refunds/{id}``; errors as
  ``{"error": {"code": "BAD_REQUEST_ERROR" | "SERVER_ERROR", "description"}}``.
- Stripe: ``POST /v1/refunds`` (form-encoded; Bearer key; ``Idempotency-Key``)
  and ``GET /v1/refunds/{id}``; errors as ``{"error": {"type", "message"}}``.

Payment links (recoveries):

- Razorpay: ``POST /v1/payment_links`` (JSON; ``reference_id`` unique: a
  second link with the same one is a 400) and ``GET /v1/payment_links``
  filtered by ``reference_id`` (``{"payment_links": [...]}``).
- Stripe: ``POST /v1/payment_links`` (form-encoded ``line_items[0][price_data]
  [...]``; ``Idempotency-Key`` replays the first answer).
- Cancelling: Razorpay ``POST /v1/payment_links/{id}/cancel``, Stripe
  ``POST /v1/payment_links/{id}`` with ``active=false``; a paid link is a 400.

Both keep what was asked (``requests``) and the refunds they made
(``refunds``); a request with a key seen before gets the first answer back,
as the providers document. ``script(...)`` makes the next requests answer
an error status or hang past the client's timeout (after creating the
refund, as a real gateway that answered too late would have).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: dict
    raw: bytes


@dataclass
class Step:
    status: int = 200  # an error status to answer instead of doing the work
    delay: float = 0.0  # seconds to wait before answering (after doing the work)


@dataclass
class FakeGateway:
    kind: str  # "razorpay" | "stripe"
    key: str
    secret: str = ""
    refund_status: str = ""  # status a new refund starts in
    arn: str = ""
    requests: list[Seen] = field(default_factory=list)
    refunds: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, tuple[bytes, dict]] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    links: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def posts(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]

    def set_status(self, refund_id: str, status: str, **extra) -> dict:
        with self.lock:
            self.refunds[refund_id].update(status=status, **extra)
            return dict(self.refunds[refund_id])

    def pay_link(self, link_id: str) -> tuple[dict, str]:
        """The customer pays the link: (the link as it now is, the payment id)."""
        with self.lock:
            link = self.links[link_id]
            payment = ("pay_" if self.kind == "razorpay" else "pi_") + secrets.token_hex(7)
            link.update(status="paid", amount_paid=link["amount"], active=False)
            return dict(link), payment

    # --- the providers' behaviour -------------------------------------------------

    def link_create(self, body: dict) -> tuple[int, dict]:
        if self.kind == "razorpay":
            reference = body.get("reference_id") or ""
            if reference and any(x["reference_id"] == reference for x in self.links.values()):
                return self.error(400, "Payment Link with the reference_id already exists")
            link_id = f"plink_{secrets.token_hex(7)}"
            link = {
                "id": link_id,
                "amount": body["amount"],
                "amount_paid": 0,
                "currency": body.get("currency", "INR"),
                "reference_id": reference,
                "description": body.get("description", ""),
                "customer": body.get("customer") or {},
                "notify": body.get("notify") or {},
                "notes": body.get("notes") or {},
                "short_url": f"https://rzp.io/i/{link_id[6:]}",
                "status": "created",
                "created_at": int(time.time()),
            }
        else:
            prefix = "line_items[0][price_data]"
            link_id = f"plink_{secrets.token_hex(12)}"
            link = {
                "id": link_id,
                "object": "payment_link",
                "active": True,
                "amount": int(body[f"{prefix}[unit_amount]"]),
                "currency": body[f"{prefix}[currency]"],
                "name": body.get(f"{prefix}[product_data][name]", ""),
                "metadata": {
                    k[len("metadata[") : -1]: v
                    for k, v in body.items()
                    if k.startswith("metadata[")
                },
                "url": f"https://buy.stripe.com/test_{link_id[6:]}",
            }
        self.links[link["id"]] = link
        return 200, dict(link)

    def authorised(self, headers: dict) -> bool:
        auth = headers.get("Authorization", "")
        if self.kind == "razorpay":
            expected = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            return auth == f"Basic {expected}"
        return auth == f"Bearer {self.key}"

    def error(self, status: int, message: str) -> tuple[int, dict]:
        if self.kind == "razorpay":
            code = "BAD_REQUEST_ERROR" if status < 500 else "SERVER_ERROR"
            return status, {"error": {"code": code, "description": message}}
        kind = "invalid_request_error" if status < 500 else "api_error"
        return status, {"error": {"type": kind, "message": message}}

    def create(self, path: str, body: dict) -> tuple[int, dict]:
        if self.kind == "razorpay":
            payment = path.split("/")[3]
            refund = {
                "id": f"rfnd_{secrets.token_hex(7)}",
                "entity": "refund",
                "amount": body.get("amount"),
                "currency": "INR",
                "payment_id": payment,
                "notes": body.get("notes") or {},
                "receipt": body.get("receipt"),
                "acquirer_data": {"arn": self.arn or None},
                "created_at": int(time.time()),
                "batch_id": None,
                "status": self.refund_status or "pending",
                "speed_processed": "normal",
                "speed_requested": body.get("speed", "normal"),
            }
        else:
            metadata = {
                k[len("metadata[") : -1]: v for k, v in body.items() if k.startswith("metadata[")
            }
            refund = {
                "id": f"re_{secrets.token_hex(12)}",
                "object": "refund",
                "amount": int(body["amount"]),
                "charge": body.get("charge") or f"ch_{secrets.token_hex(12)}",
                "created": int(time.time()),
                "currency": "inr",
                "metadata": metadata,
                "payment_intent": body.get("payment_intent"),
                "status": self.refund_status or "pending",
                "destination_details": {
                    "type": "card",
                    "card": {
                        "reference": self.arn or None,
                        "reference_status": "available" if self.arn else "pending",
                        "reference_type": "acquirer_reference_number",
                        "type": "refund",
                    },
                },
            }
        self.refunds[refund["id"]] = refund
        return 200, dict(refund)

    def handle(
        self, method: str, path: str, headers: dict, raw: bytes, query: str = ""
    ) -> tuple[int, dict, float]:
        with self.lock:
            if self.kind == "razorpay":
                body = json.loads(raw or b"{}") if raw else {}
            else:
                body = dict(parse_qsl(raw.decode())) if raw else {}
            self.requests.append(Seen(method, path, headers, body, raw))
            if not self.authorised(headers):
                return (*self.error(401, "Authentication failed"), 0.0)
            step = self.steps.pop(0) if self.steps else Step()
            if step.status >= 400:
                return (*self.error(step.status, f"scripted {step.status}"), step.delay)
            parts = path.strip("/").split("/")
            if parts == ["v1", "payment_links"] and method == "GET" and self.kind == "razorpay":
                wanted = dict(parse_qsl(query)).get("reference_id")
                found = [
                    dict(x)
                    for x in self.links.values()
                    if wanted is None or x["reference_id"] == wanted
                ]
                return 200, {"payment_links": found}, step.delay
            cancelling = (
                method == "POST"
                and parts[:2] == ["v1", "payment_links"]
                and len(parts) in (3, 4)
                and (parts[3:] == ["cancel"] if self.kind == "razorpay" else len(parts) == 3)
            )
            if cancelling:
                link = self.links.get(parts[2])
                if link is None:
                    return (*self.error(404, "no such payment link"), 0.0)
                if link.get("status") == "paid":
                    return (*self.error(400, "a paid payment link cannot be cancelled"), 0.0)
                if self.kind == "razorpay":
                    link["status"] = "cancelled"
                elif body.get("active") == "false":
                    link["active"] = False
                return 200, dict(link), step.delay
            if parts == ["v1", "payment_links"] and method == "POST":
                key = headers.get("Idempotency-Key", "") if self.kind == "stripe" else ""
                if key and key in self.by_key:
                    return 200, dict(self.by_key[key][1]), step.delay
                status, answer = self.link_create(body)
                if key and status == 200:
                    self.by_key[key] = (raw, answer)
                return status, answer, step.delay
            if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "refunds"]:
                refund = self.refunds.get(parts[2])
                if refund is None:
                    return (*self.error(404, "no such refund"), 0.0)
                return 200, dict(refund), step.delay
            creating = (
                self.kind == "razorpay"
                and method == "POST"
                and len(parts) == 4
                and parts[1] == "payments"
                and parts[3] == "refund"
            ) or (self.kind == "stripe" and method == "POST" and parts == ["v1", "refunds"])
            if not creating:
                return (*self.error(404, f"no route {method} {path}"), 0.0)
            key_header = "X-Refund-Idempotency" if self.kind == "razorpay" else "Idempotency-Key"
            key = headers.get(key_header, "")
            if key and key in self.by_key:
                first_raw, first_answer = self.by_key[key]
                if first_raw != raw:
                    return (*self.error(400, "Different request with the same key"), 0.0)
                return 200, dict(first_answer), step.delay
            status, answer = self.create(path, body)
            if key:
                self.by_key[key] = (raw, answer)
            return status, answer, step.delay


def serve(fake: FakeGateway):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _do(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            status, answer, delay = fake.handle(
                method, split.path, dict(self.headers.items()), raw, split.query
            )
            if delay:
                time.sleep(delay)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout)

        def do_GET(self):
            self._do("GET")

        def do_POST(self):
            self._do("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server
