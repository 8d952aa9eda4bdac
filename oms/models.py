"""Platform tables: API keys and idempotency records."""

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# What the authentication cache (oms.auth) holds for a revoked key.
REVOKED = "revoked"


def api_key_cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


class ApiKeyQuerySet(models.QuerySet):
    def revoke(self) -> int:
        """Revoke the keys not yet revoked; how many. When it commits, each
        one's authentication cache entry is replaced by a "revoked" marker
        (kept for twice the cache time), so no process accepts it again."""
        from django.core.cache import cache
        from django.db import transaction
        from django.utils import timezone

        from .auth import cache_seconds

        with transaction.atomic():
            live = self.filter(revoked_at__isnull=True)
            prefixes = list(live.values_list("prefix", flat=True))
            count = live.update(revoked_at=timezone.now())
            seconds = cache_seconds()
            if prefixes and seconds:
                markers = {api_key_cache_key(p): REVOKED for p in prefixes}
                transaction.on_commit(lambda: cache.set_many(markers, 2 * seconds))
        return count


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

    objects = ApiKeyQuerySet.as_manager()

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


class Job(models.Model):
    """One piece of queued work (a Celery task and its arguments), written in
    the same transaction as the change that needs it. ``oms.jobs`` publishes it
    after commit, and its sweep publishes it again while it is due and not
    done, so work survives a broker that was down and a worker that died."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"  # written; published, or waiting for the sweep
        DONE = "done", "Done"  # the task finished (success)
        FAILED = "failed", "Failed"  # the task gave up (its retries ran out, or a hard error)

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField()
    # The lease: if the job is still pending at this time, the sweep publishes
    # it again (it was never published, its message was lost, or its worker died).
    next_publish_at = models.DateTimeField()
    publishes = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_publish_at"],
                condition=models.Q(state="pending"),
                name="oms_job_sweep_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} [{self.state}]"
