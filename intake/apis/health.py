"""The health check."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .. import selectors


@require_GET
def healthz(request):
    """Database and broker reachability and the dead-letter count. 503 when
    the database is down (nothing works without it); a broken broker is
    reported but intake still stores webhooks."""
    body: dict = {}
    code = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception as exc:
        body["database"] = f"error: {type(exc).__name__}: {exc}"[:300]
        code = 503
    body["broker"] = selectors.broker_status()
    body["dead_letters"] = selectors.dead_letter_count() if code == 200 else None
    return JsonResponse(body, status=code)
