"""kombu's Redis transport, keeping one Redis client per channel.

kombu's Redis channel builds a new ``redis.Redis`` client (on the channel's
own connection pool) for every message it publishes, acknowledges or
restores, and a client's construction (its table of response callbacks) cost
about 2 % of a return's creation, whose job is published at commit. The
client only borrows connections from the pool, and is safe to share between
threads, so one is kept per channel and made again when the channel's pool is
(a reconnect). Everything else is kombu's. Used when ``CELERY_BROKER_URL`` is
a ``redis://`` or ``rediss://`` URL (``CELERY_BROKER_TRANSPORT`` in settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _kept_client = None

    @contextmanager
    def conn_or_acquire(self, client=None) -> Iterator:
        if client:
            yield client
            return
        pool = self.pool
        kept = self._kept_client
        if kept is None or kept.connection_pool is not pool:
            kept = self._kept_client = self._create_client()
        yield kept


class Transport(kombu_redis.Transport):
    Channel = Channel
