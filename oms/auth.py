"""``Authorization: Bearer <key>`` authentication for API keys.

A key that authenticated is remembered in the shared cache (Redis in
production) for ``OMS_API_KEY_CACHE_SECONDS`` (30 s by default; 0 turns it
off): the key's row, its user, the user's permissions and roles, so a
request does not spend four queries on who is calling. The secret is still checked
against the remembered hash on every request. Revoking a key
(``ApiKey.objects.filter(...).revoke()``, the admin action) writes a
"revoked" marker over the entry when the revocation commits, so a revoked
key is refused at once, in every process; a role's permissions or a user's
roles changed in the admin apply within the cache time.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework import authentication, exceptions

from .models import REVOKED, ApiKey, api_key_cache_key, hash_key
from .roles import user_roles

USER_FIELDS = ("username", "is_active", "is_staff", "is_superuser", "email")


# prefix -> (the cached entry, the ApiKey and User built from it), per process
_built: dict[str, tuple[dict, ApiKey]] = {}


def cache_seconds() -> int:
    return int(getattr(settings, "OMS_API_KEY_CACHE_SECONDS", 30))


def _entry(key: ApiKey) -> dict:
    user = key.user
    return {
        "key": {
            "id": key.pk,
            "name": key.name,
            "role": key.role,
            "prefix": key.prefix,
            "key_hash": key.key_hash,
            "user_id": key.user_id,
            "created_at": key.created_at,
        },
        "user": {"id": user.pk, **{f: getattr(user, f) for f in USER_FIELDS}},
        "perms": sorted(user.get_all_permissions()) if user.is_active else [],
        # The roles (groups) the timeline's "acting for" reads on every write.
        "roles": sorted(user_roles(user)),
    }


def _from_entry(entry: dict) -> ApiKey:
    user = get_user_model()(**entry["user"])
    key = ApiKey(**entry["key"])
    for obj in (user, key):
        obj._state.adding = False
        obj._state.db = "default"
    # What ModelBackend.get_all_permissions reads before querying.
    user._perm_cache = set(entry["perms"])  # type: ignore[attr-defined]
    if "roles" in entry:  # what oms.roles.user_roles reads before querying
        user._oms_roles = set(entry["roles"])  # type: ignore[attr-defined]
    key.user = user
    return key


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
        key = self._key(parts[1])
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw)):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return key.user, key

    @staticmethod
    def _key(prefix: str) -> ApiKey | None:
        seconds = cache_seconds()
        cached = cache.get(api_key_cache_key(prefix)) if seconds else None
        if cached == REVOKED:
            return None
        if cached is not None:
            # The entry was read from the shared cache just now (so a
            # revocation still refuses the key at once); the instances built
            # from it last time in this process are reused while it is the
            # same entry. Nothing writes to them but Django's and oms.roles'
            # own permission and role caches, which hold the same values.
            built = _built.get(prefix)
            if built is not None and built[0] == cached:
                return built[1]
            key = _from_entry(cached)
            _built[prefix] = (cached, key)
            return key
        key = (
            ApiKey.objects.select_related("user")
            .filter(prefix=prefix, revoked_at__isnull=True)
            .first()
        )
        if key is not None and seconds:
            # add, not set: a revocation's marker written meanwhile wins.
            cache.add(api_key_cache_key(prefix), _entry(key), seconds)
        return key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
