"""Counters in the shared cache for rate limits.

``cache.add`` creates the counter with its window only if it is missing, and
``cache.incr`` is atomic (Redis ``INCRBY``; ``oms.cache.DatabaseCache``
locks the row), so concurrent requests in several processes each get their
own count. Keys are hashed: what a client typed never reaches the cache key.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def key(*parts: str) -> str:
    scope, *rest = parts
    digest = hashlib.sha256("\x1f".join(rest).encode()).hexdigest()[:40]
    return f"rl:{scope}:{digest}"


def hit(counter: str, *, window: int) -> int:
    """Count one hit on ``counter``; returns the count within the window."""
    cache.add(counter, 0, window)
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.add(counter, 1, window)
        return 1
