"""Configuration read on every return, kept per process for a few seconds.

Creating a return read the current policy, the active reasons and the policy
version's SLA rules: three statements, each a round trip to the database and
rows built into models, for rows that change a few times a year. Here each
read is kept in this process for ``OMS_CONFIG_CACHE_SECONDS`` (5 by default;
0 reads every time).

* A change written through the ORM in this process (the admin, the console's
  policy page, ``policy_version_create``, a bulk ``update`` or
  ``bulk_create``: the models are ``ConfigModel`` rows) empties the cache at
  once and again when its transaction commits.
* Another process (a second gunicorn worker, a Celery worker) sees the change
  within ``OMS_CONFIG_CACHE_SECONDS``: a return created in that window is
  decided under the version before, which it records (``Return.policy``), as
  if it had been created a few seconds earlier.
* While this connection's transaction holds a configuration change not yet
  committed, reads skip the cache (in both ways), so rows that a rollback
  would take away are never kept.

The cached rows are shared by the requests of the process: read them, never
change them in place (a policy change is a new version, ``policy_version_create``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, models, transaction

T = TypeVar("T")

_entries: dict[tuple, tuple[float, Any]] = {}
_lock = threading.Lock()
# Counts the times the cache was emptied. A read stores what it loaded only if
# no change emptied the cache while it loaded (another thread's commit), so a
# row read before a change is never kept after it.
_generation = 0


def config_seconds() -> float:
    return float(getattr(settings, "OMS_CONFIG_CACHE_SECONDS", 5))


def config_cached(key: tuple, load: Callable[[], T], *, using: str = "default") -> T:
    """``load()``, or what it gave within the last ``OMS_CONFIG_CACHE_SECONDS``
    in this process."""
    seconds = config_seconds()
    connection = connections[using]
    if not seconds or _dirty(connection):
        return load()
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] > now:
        value: T = entry[1]
        return value
    generation = _generation
    value = load()
    with _lock:
        if generation == _generation:
            _entries[key] = (now + seconds, value)
    return value


def config_changed(*, using: str = "default") -> None:
    """Forget what is kept: now, and again when the current transaction
    commits; until then reads on this connection skip the cache."""
    _forget()
    transaction.on_commit(_forget, using=using, robust=True)


def _forget() -> None:
    global _generation
    with _lock:
        _generation += 1
        _entries.clear()


def _dirty(connection) -> bool:
    """A change is waiting for this connection's transaction to commit: its
    ``_forget`` hook is still pending. The hook leaves the list when the
    transaction commits (it runs) or rolls back, or with the savepoint that
    held the change."""
    return any(hook[1] is _forget for hook in connection.run_on_commit)


def config_clear() -> None:
    """Forget everything kept (a test starting on a fresh database)."""
    _forget()


class ConfigQuerySet(models.QuerySet):
    """Bulk writes (``update``, ``delete``, ``bulk_create``, ``bulk_update``)
    forget what is kept, as a saved or deleted row does."""

    def update(self, **kwargs):
        changed = super().update(**kwargs)
        config_changed(using=self.db)
        return changed

    update.alters_data = True  # type: ignore[attr-defined]

    def delete(self):
        deleted = super().delete()
        config_changed(using=self.db)
        return deleted

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        config_changed(using=self.db)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        changed = super().bulk_update(objs, fields, *args, **kwargs)
        config_changed(using=self.db)
        return changed


class ConfigModel(models.Model):
    """A configuration row read through ``config_cached``: saving or deleting
    one (the admin, the console, ``get_or_create``) forgets what is kept."""

    objects = ConfigQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        config_changed(using=self._state.db or "default")

    def delete(self, *args, **kwargs):
        using = kwargs.get("using") or self._state.db or "default"
        deleted = super().delete(*args, **kwargs)
        config_changed(using=using)
        return deleted
