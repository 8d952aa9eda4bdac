"""The database cache, with an ``incr`` that is atomic and keeps the expiry.

Django's ``DatabaseCache.incr`` is a get then a set: two processes counting
at once both read 3 and both write 4, and the set replaces the entry's expiry
with the default timeout. Rate limits need neither. Here the row is locked
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the project's
``BEGIN IMMEDIATE`` transactions already serialise writers) and only the value
is updated.
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache.backends import db
from django.core.cache.backends import redis as redis_backend
from django.db import connections, router, transaction
from django.utils.timezone import now as tz_now


class DatabaseCache(db.DatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        table = connection.ops.quote_name(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0))
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT value FROM {table} WHERE cache_key = %s AND expires > %s{lock}",  # noqa: S608 - table name quoted, values bound
                [key, now],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301 - our own table, as Django's backend does
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET value = %s WHERE cache_key = %s",  # noqa: S608 - as above
                [encoded, key],
            )
        return value


class _RedisCacheClient(redis_backend.RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` around its pool on every
    call (about a tenth of an API GET's CPU, most of it in ``Redis.__init__``).
    A ``Redis`` object over a pool is safe to share, so keep one per pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(redis_backend.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _RedisCacheClient
