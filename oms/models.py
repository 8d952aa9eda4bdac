"""Platform tables: API keys and idempotency records."""

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A key for a system that calls the API. It acts as its own user, whose
    only group is the key's role, so permissions work as they do for staff."""

    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.role}, {self.prefix}…)"

    @staticmethod
    def generate() -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"oms_{prefix}_{secrets.token_urlsafe(32)}"


class IdempotencyRecord(models.Model):
    """The first response to a write sent with an ``Idempotency-Key`` header."""

    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=100)
    principal = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "scope", "key"], name="idempotency_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
