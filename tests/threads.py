"""Two or more real transactions at once, for tests on PostgreSQL."""

from __future__ import annotations

import threading

from django.db import connection


def in_threads(*targets, timeout: float = 30) -> list:
    """Run each target in a thread of its own (each on its own database
    connection, closed when it ends) and wait for all; their results, or the
    exception each raised, in order. Fails if one is still running after
    ``timeout`` seconds (a deadlock)."""
    results: list = [None] * len(targets)

    def run(i, target):
        try:
            results[i] = target()
        except Exception as exc:  # the test inspects what each raised
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    return results
