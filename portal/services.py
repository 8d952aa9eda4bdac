"""Writes for the portal: one-time codes, lookup rate limits and evidence
photos. Returns themselves are created by ``flows.return_intake.return_create``."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from oms import ratelimit
from orders.models import Order

from .models import PortalVerification, ReturnPhoto

CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5
LOOKUP_WINDOW = 600  # seconds


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def _contact_matches(order: Order, contact: str) -> bool:
    contact = contact.strip()
    if "@" in contact:
        emails = {order.email.lower(), order.customer.email.lower()} - {""}
        return contact.lower() in emails
    given = _digits(contact)
    if len(given) < 6:
        return False
    for phone in (order.phone, order.customer.phone):
        have = _digits(phone)
        if have and (have == given or (len(given) >= 10 and have[-10:] == given[-10:])):
            return True
    return False


def code_address(order: Order) -> str:
    """Where an order's one-time code goes. Entering that code proves this
    address, and only this address (a phone typed at the lookup is not)."""
    return (order.email or order.customer.email).strip().lower()


def _hash(verification_salt: str, code: str) -> str:
    return salted_hmac("portal.one-time-code", f"{verification_salt}:{code}").hexdigest()


def lookup_allowed(*, ip: str, order_number: str) -> bool:
    """Count this lookup in the shared cache; False once this address has had
    ``OMS_PORTAL_LOOKUPS_PER_ORDER_IP`` lookups of this order, or
    ``OMS_PORTAL_LOOKUPS_PER_IP`` lookups of any order, in ten minutes.

    Nothing is counted per order alone: a stranger's failed lookups of an
    order must not lock its customer out. The customer, from their own
    address, still gets a code; a stranger who knows the contact gets only an
    email sent to the customer, and each code allows five tries."""
    number = order_number.strip().upper()
    per_ip = ratelimit.hit(ratelimit.key("lookup-ip", ip), window=LOOKUP_WINDOW)
    per_order = ratelimit.hit(ratelimit.key("lookup-order-ip", number, ip), window=LOOKUP_WINDOW)
    return (
        per_ip <= settings.OMS_PORTAL_LOOKUPS_PER_IP
        and per_order <= settings.OMS_PORTAL_LOOKUPS_PER_ORDER_IP
    )


def code_try_allowed(*, ip: str) -> bool:
    """Count a one-time-code try from this address; False past
    ``OMS_PORTAL_CODE_TRIES_PER_IP`` in ten minutes, whatever the codes."""
    tries = ratelimit.hit(ratelimit.key("code-ip", ip), window=LOOKUP_WINDOW)
    return tries <= settings.OMS_PORTAL_CODE_TRIES_PER_IP


def verification_start(*, order_number: str, contact: str) -> PortalVerification | None:
    """Email a six-digit code when the order exists and the contact is on it.
    Returns None otherwise; the caller answers the same either way."""
    order = (
        Order.objects.select_related("customer").filter(number__iexact=order_number.strip()).first()
    )
    if order is None or not _contact_matches(order, contact):
        return None
    to = code_address(order)
    if not to:
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    verification = PortalVerification.objects.create(
        order=order,
        customer=order.customer,
        code_hash=f"{salt}${_hash(salt, code)}",
        expires_at=timezone.now() + CODE_TTL,
    )
    send_mail(
        f"Your code for order {order.number}: {code}",
        f"Your one-time code is {code}. It expires in 10 minutes.\n\n"
        "If you did not ask to see this order, you can ignore this email.",
        settings.DEFAULT_FROM_EMAIL,
        [to],
    )
    return verification


def verification_check(*, verification_id: int | None, code: str) -> PortalVerification | None:
    """The verification when ``code`` is right, unexpired and within its tries."""
    if not verification_id:
        return None
    verification = PortalVerification.objects.filter(
        pk=verification_id, verified_at__isnull=True
    ).first()
    if verification is None:
        return None
    if verification.expires_at < timezone.now():
        return None
    # Take a try in one statement: parallel guesses cannot all pass a check
    # made before the increment.
    took = PortalVerification.objects.filter(
        pk=verification.pk, verified_at__isnull=True, attempts__lt=CODE_TRIES
    ).update(attempts=F("attempts") + 1)
    if not took:
        return None
    salt, _, digest = verification.code_hash.partition("$")
    if not constant_time_compare(digest, _hash(salt, code.strip())):
        return None
    verification.verified_at = timezone.now()
    used = PortalVerification.objects.filter(pk=verification.pk, verified_at__isnull=True).update(
        verified_at=verification.verified_at
    )
    return verification if used else None


def photos_store(*, return_request, photos: dict[int, list]) -> list[ReturnPhoto]:
    """Save checked uploads (see ``forms.check_photos``) under evidence/<rma>/."""
    saved = []
    for unit_id, files in photos.items():
        for upload, content_type in files:
            ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[content_type]
            upload.seek(0)
            name = default_storage.save(
                f"evidence/{return_request.rma}/unit{unit_id}-{secrets.token_hex(6)}.{ext}", upload
            )
            photo = ReturnPhoto(
                return_request=return_request,
                unit_id=unit_id,
                content_type=content_type,
                size=upload.size,
            )
            photo.file.name = name
            photo.save()
            saved.append(photo)
    return saved


# Photos kept across a form error: a file input cannot be filled again by the
# server, so checked photos are parked under held/ and the form carries a
# signed token per photo. Tokens expire with the portal session (1 hour).
HELD_SALT = "portal.held-photo"
HELD_AGE = 60 * 60
EXT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def photos_hold(photos: dict[int, list]) -> dict[int, list[dict]]:
    """Park checked uploads; unit id → [{"token", "name"}]."""
    from django.core import signing

    out: dict[int, list[dict]] = {}
    for unit_id, files in photos.items():
        for upload, content_type in files:
            if getattr(upload, "held_token", None):
                out.setdefault(unit_id, []).append(
                    {"token": upload.held_token, "name": upload.display_name}
                )
                continue
            ext = {v: k for k, v in EXT_TYPES.items()}[content_type]
            upload.seek(0)
            path = default_storage.save(f"held/{secrets.token_hex(12)}.{ext}", upload)
            token = signing.dumps({"path": path, "name": upload.name[:100]}, salt=HELD_SALT)
            out.setdefault(unit_id, []).append({"token": token, "name": upload.name[:100]})
    return out


def photos_held(tokens: list[str]) -> list:
    """The parked photos for these tokens as (file, content type); bad or
    expired tokens are skipped."""
    from django.core import signing
    from django.core.files.base import ContentFile

    out = []
    for token in tokens[:5]:
        try:
            data = signing.loads(token, salt=HELD_SALT, max_age=HELD_AGE)
        except signing.BadSignature:
            continue
        path = data.get("path", "")
        if not path.startswith("held/") or not default_storage.exists(path):
            continue
        with default_storage.open(path, "rb") as fh:
            f = ContentFile(fh.read(), name=data.get("name") or path)
        f.held_token = token
        f.display_name = data.get("name") or "photo"
        out.append((f, EXT_TYPES[path.rsplit(".", 1)[-1]]))
    return out
