"""The client's address, as far as this deployment can know it.

A client can send any ``X-Forwarded-For`` it likes, so a header is believed
only when the deployment names it (``OMS_TRUSTED_PROXY_HEADER``) because its
own proxy sets it; then the address is the entry ``OMS_TRUSTED_PROXY_COUNT``
from the right (what the outermost trusted proxy saw), never the left-most,
which the client wrote. Anything unparsable falls back to ``REMOTE_ADDR``.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _parse(value: str) -> str | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    header = settings.OMS_TRUSTED_PROXY_HEADER
    if not header:
        return remote
    raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    hops = [h for h in raw.split(",") if h.strip()]
    count = settings.OMS_TRUSTED_PROXY_COUNT
    if len(hops) < count:
        return remote
    return _parse(hops[-count]) or remote
