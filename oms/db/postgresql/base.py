"""Django's PostgreSQL backend, with a health check that costs no round trip
when there is nothing to suspect.

With ``CONN_HEALTH_CHECKS`` Django checks a reused connection before the first
query of each request with ``SELECT 1``: a round trip, and a transaction on the
server, on every request (one statement in six of an order's ``GET``). An idle
connection the server has ended (a restart, ``pg_terminate_backend``, an idle
session timeout) has something to read: the server's termination notice, or
the end of the stream. So the socket is polled first, without waiting: nothing
to read means nothing happened since the last query, and the connection is
used as it is; anything to read (that, or a notice), or a socket that cannot
be polled, falls back to Django's ``SELECT 1``. A connection whose network died silently passes both checks
alike (``SELECT 1`` would wait on it until TCP gives up); its first query then
fails and Django discards it at the end of the request, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed:
            return False
        if _POLL is None:  # (a platform without poll())
            return bool(super().is_usable())
        poller = _POLL()
        try:
            poller.register(connection, select.POLLIN)
            events = poller.poll(0)
        except (OSError, ValueError):  # no socket to poll: let the server say
            return bool(super().is_usable())
        if not events:
            return True
        return bool(super().is_usable())


# poll(), not select(): select() refuses a descriptor above 1023, which a
# worker with many client sockets open can reach
_POLL = getattr(select, "poll", None)
