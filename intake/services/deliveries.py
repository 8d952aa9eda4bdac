"""Accepting, processing and replaying storefront webhook deliveries."""

from __future__ import annotations

import hashlib
import logging

from django.db import IntegrityError, OperationalError, transaction

from oms.errors import ApplicationError, Conflict, NotFound
from oms.jobs import job_enqueue
from orders.models import Channel

from ..models import WebhookDelivery
from ..states import SETTLED_STATES, DeliveryState
from .apply import _apply
from .common import RetryLater

logger = logging.getLogger(__name__)

# --- accept ------------------------------------------------------------------


DELIVERY_ID_MAX = WebhookDelivery._meta.get_field("delivery_id").max_length


def delivery_accept(
    *,
    channel: Channel,
    platform: str,
    topic: str,
    delivery_id: str,
    body: bytes,
    headers: dict,
) -> tuple[WebhookDelivery, bool]:
    """Store the body and queue it; a redelivery (same channel and delivery
    id) returns the stored one with ``created`` False and queues nothing."""
    if not delivery_id:
        # Without the platform's id, the body itself is the identity.
        delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    elif len(delivery_id) > DELIVERY_ID_MAX or "\x00" in delivery_id:
        # Too long for the column (or unstorable): its hash is the identity,
        # the same on every redelivery, so a redelivery is still recognised.
        delivery_id = "id-sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()
    existing = WebhookDelivery.objects.filter(channel=channel, delivery_id=delivery_id).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                channel=channel,
                platform=platform,
                topic=topic[:100],
                delivery_id=delivery_id,
                body=body,
                headers=headers,
            )
            _enqueue(delivery.pk)
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(channel=channel, delivery_id=delivery_id).first()
        if existing is None:
            raise
        return existing, False
    return delivery, True


def courier_delivery_accept(
    *, platform: str, topic: str, body: bytes
) -> tuple[WebhookDelivery, bool]:
    """Store a courier's tracking webhook and queue it. Couriers send no
    delivery id, so the body's hash is the identity: the same update sent
    twice is stored (and applied) once."""
    delivery_id = "sha256:" + hashlib.sha256(body).hexdigest()
    existing = WebhookDelivery.objects.filter(
        channel__isnull=True, platform=platform, delivery_id=delivery_id
    ).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                channel=None, platform=platform, topic=topic, delivery_id=delivery_id, body=body
            )
            _enqueue(delivery.pk)
    except IntegrityError:
        existing = WebhookDelivery.objects.filter(
            channel__isnull=True, platform=platform, delivery_id=delivery_id
        ).first()
        if existing is None:
            raise
        return existing, False
    return delivery, True


def _enqueue(delivery_id: int) -> None:
    from ..tasks import delivery_process_task

    job_enqueue(delivery_process_task, delivery_id)


# --- process -----------------------------------------------------------------


def delivery_process(*, delivery_id: int, final_attempt: bool = False) -> str:
    """Apply one stored delivery. Returns its state afterwards.

    A payload that cannot be represented (``PayloadError``, or an order the
    order service refuses) goes straight to the dead letters: retrying would
    fail the same way. Anything else (a lost race, an order not received yet,
    a database hiccup) raises ``RetryLater`` for the task to retry, and on the
    final attempt goes to the dead letters too. Safe to run twice.
    """
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
            if delivery is None:
                raise NotFound(f"Webhook delivery {delivery_id} does not exist.")
            if delivery.state in SETTLED_STATES:
                return delivery.state
            _apply(delivery)
            delivery.save()
            return delivery.state
    except NotFound:
        raise
    except (Conflict, OperationalError, RetryLater) as exc:
        error = _describe(exc)
        if final_attempt:
            return _settle_failure(delivery_id, error, dead=True)
        _settle_failure(delivery_id, error, dead=False)
        raise RetryLater(error) from exc
    except ApplicationError as exc:
        return _settle_failure(delivery_id, _describe(exc), dead=True)
    except Exception as exc:
        logger.exception("webhook delivery %s failed", delivery_id)
        error = _describe(exc)
        if final_attempt:
            return _settle_failure(delivery_id, error, dead=True)
        _settle_failure(delivery_id, error, dead=False)
        raise RetryLater(error) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApplicationError):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _settle_failure(delivery_id: int, error: str, *, dead: bool) -> str:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state in SETTLED_STATES:
            return delivery.state
        if dead:
            delivery.mark_dead(error)
        else:
            delivery.mark_failed(error)
        delivery.save()
        return delivery.state


# --- dead letters --------------------------------------------------------------


def dead_letter_replay(*, delivery_id: int) -> WebhookDelivery:
    """Run a dead letter again from its stored body, after a fix. A delivery
    not settled yet (received, or failed and retrying) is queued again as it
    is: processing is idempotent, so this only helps one whose work was lost."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound(f"Dead letter {delivery_id} does not exist.")
        if delivery.state in SETTLED_STATES and delivery.state != DeliveryState.DEAD:
            raise Conflict(
                f"Delivery {delivery_id} is {delivery.state}; only dead letters and deliveries "
                "not processed yet are replayed.",
                code="invalid_state",
                extra={"state": delivery.state},
            )
        if delivery.state == DeliveryState.DEAD:
            delivery.requeue()
            delivery.save()
        _enqueue(delivery.pk)
    return delivery
