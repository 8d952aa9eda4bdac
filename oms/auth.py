"""``Authorization: Bearer <key>`` authentication for API keys."""

import hmac

from rest_framework import authentication, exceptions

from .models import ApiKey, hash_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        raw = raw.strip()
        parts = raw.split("_")
        if len(parts) < 3 or parts[0] != "oms":
            raise exceptions.AuthenticationFailed("Malformed API key.")
        key = (
            ApiKey.objects.select_related("user")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw)):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return key.user, key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
