"""``Idempotency-Key`` for writes a client may retry.

The same key and the same body returns the first response; the same key with
another body is refused with 422. The record is written in the same
transaction as the change it answers for, so a rolled-back change leaves no
record behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from .errors import ApplicationError, Unprocessable
from .models import IdempotencyRecord

MAX_KEY_LENGTH = IdempotencyRecord._meta.get_field("key").max_length


def _hash(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(request, scope: str, produce: Callable[[], Response]) -> Response:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return produce()
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApplicationError(
            f"Idempotency-Key: at most {MAX_KEY_LENGTH} printable characters "
            "(a UUID is a good key).",
            code="invalid",
            extra={"header": "Idempotency-Key", "max_length": MAX_KEY_LENGTH},
        )
    principal = str(request.user.pk)
    digest = _hash(request.data)

    def replay(record: IdempotencyRecord) -> Response:
        if record.request_hash != digest:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request body.",
                code="idempotency_key_reused",
                extra={"idempotency_key": key},
            )
        response = Response(record.response_body, status=record.status_code)
        response["Idempotent-Replayed"] = "true"
        return response

    existing = IdempotencyRecord.objects.filter(principal=principal, scope=scope, key=key).first()
    if existing:
        return replay(existing)
    try:
        with transaction.atomic():
            # Claim the key before doing the work: a concurrent request with the
            # same key waits on this row's unique index (PostgreSQL) or on the
            # write lock (SQLite) until this one commits, then replays its
            # response instead of racing it.
            record = IdempotencyRecord.objects.create(
                key=key,
                scope=scope,
                principal=principal,
                request_hash=digest,
                status_code=0,
                response_body={},
            )
            response = produce()
            if response.status_code >= 500:
                raise _Unrecorded(response)
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
            return response
    except _Unrecorded as exc:
        return exc.response
    except IntegrityError:
        existing = IdempotencyRecord.objects.filter(
            principal=principal, scope=scope, key=key
        ).first()
        if existing is None or existing.status_code == 0:
            raise
        return replay(existing)


class _Unrecorded(Exception):
    def __init__(self, response: Response):
        super().__init__("not recorded")
        self.response = response
