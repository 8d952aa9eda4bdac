"""Secrets at rest: payout details (bank account, IFSC, UPI id, holder name)
are stored as Fernet tokens (``cryptography``: AES-128-CBC + HMAC-SHA256,
authenticated, with a timestamp), never in clear.

Keys come from ``OMS_PAYOUT_KEY`` (settings): one or more Fernet keys,
comma-separated. The first encrypts; every one decrypts, so a key is rotated
by putting the new one first and re-saving the rows (``MultiFernet.rotate``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """A stored token no key can open (wrong or missing OMS_PAYOUT_KEY)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.OMS_PAYOUT_KEYS))


def encrypt_json(value: dict) -> str:
    """A dict as a Fernet token; an empty dict as "" (nothing to hide)."""
    if not value:
        return ""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return fernet().encrypt(raw).decode()


def decrypt_json(token: str | None) -> dict:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise DecryptionError("Payout details cannot be decrypted with OMS_PAYOUT_KEY.") from exc


if TYPE_CHECKING:  # a dict in Python, whatever django-stubs says of a TextField
    _Base = models.TextField[Any, dict]
else:
    _Base = models.TextField


class EncryptedJSONField(_Base):
    """A dict in Python, a Fernet token in the database. Not searchable:
    nothing ever filters on it."""

    description = "A JSON object encrypted with Fernet"

    def from_db_value(self, value, expression, connection):
        return decrypt_json(value)

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return decrypt_json(value)

    def get_prep_value(self, value):
        if value is None:
            return ""
        if isinstance(value, str):  # already a token (e.g. a migration copying rows)
            return value
        return encrypt_json(dict(value))

    def value_to_string(self, obj):
        # Serialisers (dumpdata) get the token, never the clear text.
        return self.get_prep_value(self.value_from_object(obj))
