"""A tiny storefront in a thread: records what our webhooks post and can be
told to fail the next N deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "whsec_test_outbound"


@dataclass
class Received:
    path: str
    headers: Message  # case-insensitive, as HTTP header names are
    raw: bytes
    status: int

    @property
    def json(self) -> dict:
        return json.loads(self.raw)

    def signature_valid(self, secret: str = SECRET) -> bool:
        """What a storefront does: HMAC-SHA256 of ``<timestamp>.<raw body>``."""
        signed = self.headers["X-OMS-Timestamp"].encode() + b"." + self.raw
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-OMS-Signature", ""))


@dataclass
class Storefront:
    url: str
    requests: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # statuses to answer next
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, times: int, status: int = 500) -> None:
        with self.lock:
            self.failures.extend([status] * times)

    @property
    def succeeded(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def types(self) -> list[str]:
        return [r.json["type"] for r in self.succeeded]


@pytest.fixture
def storefront():
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            sf: Storefront = state["sf"]
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with sf.lock:
                status = sf.failures.pop(0) if sf.failures else 200
                sf.requests.append(Received(self.path, self.headers, raw, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["sf"] = Storefront(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/oms")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["sf"]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def hooked_channel(channel, storefront):
    """The ``web`` channel, posting every event type to the local storefront."""
    channel.outbound_url = storefront.url
    channel.outbound_secret = SECRET
    channel.save()
    return channel
