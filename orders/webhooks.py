"""Outbound webhooks to the storefront (DOMAIN.md, Customer communication).

A webhook is an ``OutboundMessage`` with ``channel="webhook"``: written by
``orders.messaging.webhook_enqueue`` in the transaction of the change it
describes, posted after commit by ``webhook_deliver_task``, retried with
exponential backoff, and swept up by beat's outbox flush if its task was lost.

What the receiver gets
----------------------
``POST <Channel.outbound_url>`` with a JSON envelope::

    {"id": "<uuid>", "type": "return.approved", "occurred_at": "...Z",
     "order": "<order number>", "channel": "<channel code>", "data": {...}}

and the headers ``Content-Type: application/json``, ``X-OMS-Event`` (the
type), ``X-OMS-Delivery`` (the envelope id: the same on every retry, so a
receiver dedupes on it), ``X-OMS-Timestamp`` (Unix seconds of this attempt)
and ``X-OMS-Signature: sha256=<hex>``, where ``<hex>`` is the HMAC-SHA256,
keyed with the channel's ``outbound_secret``, of the bytes
``<X-OMS-Timestamp>.<raw body>``. Signing the timestamp lets a receiver
refuse replays of an old delivery (say, older than five minutes).

Any 2xx is success. Anything else (3xx included: redirects are not followed,
since a POST would turn into a GET) or a network error is retried after
30 s × 2^(n-1) for attempt n, up to ``MAX_ATTEMPTS``; then the message is
``failed`` and waits for ops (admin action "send again").

Where it may go
---------------
Unless ``OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS`` (on by default only outside
production), a URL whose host resolves to a private, loopback, link-local or
otherwise non-global address (``http://169.254.169.254/``, ``localhost``,
``10.0.0.5``) is refused when it is saved, and again at every delivery: the
host is resolved anew and the address actually connected to is checked before
a byte is sent, so a name that later resolves inward (DNS rebinding) gets
nothing. With the guard on, environment proxies are not used for webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Channel, OutboundMessage, Shipment, Unit

WEBHOOK = "webhook"  # OutboundMessage.channel of a storefront webhook
EVENT_TYPES = (
    "return.created",
    "return.approved",
    "return.rejected",
    "return.received",
    "return.qc_completed",
    "return.completed",
    "return.cancelled",
    "refund.issued",
    "exchange.dispatched",
    "order.delivered",
    "loyalty.adjusted",
)
SCHEMES = ("http", "https")
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30
TIMEOUT_SECONDS = 10
# A pending webhook with no attempt yet is left to its after-commit task for
# this long before the flush sends it (the task was probably lost).
FLUSH_GRACE = timedelta(minutes=1)


class Outcome:
    SENT = "sent"  # 2xx this time
    RETRY = "retry"  # failed; another attempt is due at next_attempt_at
    FAILED = "failed"  # failed for the last time (or cannot be sent at all)
    NOT_DUE = "not_due"  # pending, but its next attempt is later
    SKIPPED = "skipped"  # already sent or failed, or not a webhook


@dataclass(frozen=True)
class Result:
    outcome: str
    attempts: int = 0
    retry_in: int | None = None  # seconds, for Outcome.RETRY


def backoff_seconds(attempts: int) -> int:
    """Wait after the ``attempts``-th failed attempt: 30, 60, 120, ... s."""
    return BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def url_scheme_ok(url: str) -> bool:
    return url.split(":", 1)[0].lower() in SCHEMES


def _private_targets_allowed() -> bool:
    return settings.OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS


def address_forbidden(address: str) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified,
    carrier-grade NAT: anything not on the public internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def target_refusal(url: str) -> str:
    """Why ``url`` may not receive webhooks, or "" when it may."""
    if not url_scheme_ok(url):
        return f"{url!r} is not an http(s) URL"
    if _private_targets_allowed():
        return ""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return f"{url!r} is not a valid URL"
    if not host:
        return f"{url!r} has no host"
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        return f"host {host!r} does not resolve ({exc})"
    for info in infos:
        address = str(info[4][0])
        if address_forbidden(address):
            return f"host {host!r} resolves to {address}, which is not a public address"
    return ""


def channel_wants(channel: Channel, type: str) -> bool:
    """Configured (URL and secret) and subscribed to ``type``."""
    if not (channel.outbound_url and channel.outbound_secret):
        return False
    return not channel.outbound_events or type in channel.outbound_events


# --- delivery ------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # surfaces as HTTPError: a redirect is a failed delivery


class TargetRefused(OSError):
    """The connection reached an address webhooks may not go to."""


def _guarded_create_connection(address, *args, **kwargs):
    sock = socket.create_connection(address, *args, **kwargs)
    peer = sock.getpeername()[0]
    if address_forbidden(peer):
        sock.close()
        raise TargetRefused(f"connected to {peer}, which is not a public address")
    return sock


def _guarded(connection_class):
    class Guarded(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = _guarded_create_connection

    return Guarded


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_guarded(http_class), req, **kwargs)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def do_open(self, http_class, req, **kwargs):
        return super().do_open(_guarded(http_class), req, **kwargs)


_opener = urllib.request.build_opener(_NoRedirect)
# Checks the address it connects to (DNS may have changed since the URL was
# checked); no environment proxy, whose address would be the one checked.
_guarded_opener = urllib.request.build_opener(
    _NoRedirect, urllib.request.ProxyHandler({}), _GuardedHTTPHandler, _GuardedHTTPSHandler
)


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    """POST once. Returns "" on a 2xx, else what went wrong."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked by the caller
    opener = _opener if _private_targets_allowed() else _guarded_opener
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        return f"{type(exc).__name__}: {exc}"
    return "" if 200 <= status < 300 else f"HTTP {status}"


def webhook_deliver(*, message_id: int) -> Result:
    """Make one attempt at a pending webhook that is due.

    Idempotent: the row is locked for the attempt and a sent (or failed)
    message is left alone, so a task that runs twice, or a retry racing the
    flush, never posts a sent webhook again. The lock is held during the POST
    (at most ``TIMEOUT_SECONDS``) for exactly that reason."""
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("order__channel")
            .filter(pk=message_id, channel=WEBHOOK)
            .first()
        )
        if message is None or message.state != OutboundMessage.State.PENDING:
            return Result(Outcome.SKIPPED)
        now = timezone.now()
        if message.next_attempt_at and message.next_attempt_at > now:
            return Result(Outcome.NOT_DUE, message.attempts)
        message.attempts += 1
        body = message.body.encode()
        refusal = target_refusal(message.to)
        if not refusal:
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "oms-webhooks/1",
                **message.headers,
                "X-OMS-Timestamp": timestamp,
                "X-OMS-Signature": signature(
                    message.order.channel.outbound_secret, timestamp, body
                ),
            }
            error = _post(message.to, body, headers)
            final = message.attempts >= MAX_ATTEMPTS
        else:
            error, final = f"Refused: {refusal}.", True
        fields = ["attempts", "state", "last_error", "next_attempt_at", "sent_at"]
        if not error:
            message.state = OutboundMessage.State.SENT
            message.sent_at = timezone.now()
            message.next_attempt_at = None
            message.save(update_fields=fields)
            return Result(Outcome.SENT, message.attempts)
        message.last_error = error[:500]
        if final:
            message.state = OutboundMessage.State.FAILED
            message.next_attempt_at = None
            message.save(update_fields=fields)
            return Result(Outcome.FAILED, message.attempts)
        wait = backoff_seconds(message.attempts)
        message.next_attempt_at = now + timedelta(seconds=wait)
        message.save(update_fields=fields)
        return Result(Outcome.RETRY, message.attempts, wait)


def webhook_due_ids(limit: int = 500) -> list[int]:
    """Pending webhooks the flush should hand to a worker: due for a retry,
    or never attempted and older than the grace period (task lost)."""
    from django.db.models import Q

    now = timezone.now()
    return list(
        OutboundMessage.objects.filter(channel=WEBHOOK, state=OutboundMessage.State.PENDING)
        .filter(
            Q(next_attempt_at__lte=now)
            | Q(next_attempt_at__isnull=True, created_at__lte=now - FLUSH_GRACE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- payloads owned by orders ----------------------------------------------------


def delivery_data(shipment: Shipment, accepted: list[Unit], refused: list[Unit], collected):
    """``order.delivered``: one shipment's delivery, refused units included."""
    return {
        "shipment": shipment.pk,
        "kind": shipment.kind,
        "state": shipment.state,
        "delivered_at": shipment.delivered_at,
        "cod_collected": collected,
        "units": [
            {"id": u.pk, "state": u.state}
            for u in sorted([*accepted, *refused], key=lambda u: u.pk)
        ],
        "refused_units": sorted(u.pk for u in refused),
    }


# --- configuration -----------------------------------------------------------------


def channel_outbound_set(
    *,
    channel: Channel,
    outbound_url: str | None = None,
    outbound_secret: str | None = None,
    outbound_events: list[str] | None = None,
) -> Channel:
    """Change a channel's outbound webhook settings; ``None`` keeps a value.
    A URL needs a secret: the storefront must be able to verify what we send."""
    from oms.errors import ApplicationError

    if outbound_url is not None:
        if outbound_url and not url_scheme_ok(outbound_url):
            raise ApplicationError(
                "outbound_url: only http and https URLs are allowed.",
                extra={"field": "outbound_url"},
            )
        refusal = target_refusal(outbound_url) if outbound_url else ""
        if refusal:
            raise ApplicationError(
                f"outbound_url: {refusal}; webhooks go only to public addresses.",
                code="outbound_url_forbidden",
                extra={"field": "outbound_url"},
            )
        channel.outbound_url = outbound_url
    if outbound_secret is not None:
        channel.outbound_secret = outbound_secret
    if outbound_events is not None:
        unknown = sorted(set(outbound_events) - set(EVENT_TYPES))
        if unknown:
            raise ApplicationError(
                f"outbound_events: unknown event types {unknown}.",
                extra={"field": "outbound_events"},
            )
        channel.outbound_events = [t for t in EVENT_TYPES if t in outbound_events]
    if channel.outbound_url and not channel.outbound_secret:
        raise ApplicationError(
            "outbound_secret: a channel with an outbound_url needs the secret its webhooks are signed with.",
            extra={"field": "outbound_secret"},
        )
    channel.save(update_fields=["outbound_url", "outbound_secret", "outbound_events"])
    return channel
