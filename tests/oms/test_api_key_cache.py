"""API-key authentication is remembered briefly, and revoking a key ends it at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oms.models import REVOKED, ApiKey, api_key_cache_key

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def _auth_queries(client) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{ORDERS}?channel=web")
    sql = [q["sql"] for q in ctx.captured_queries]
    return response.status_code, [s for s in sql if "oms_apikey" in s or "auth_permission" in s]


def _prefix(client) -> str:
    return client.api_key.split("_")[1]


def test_a_known_key_is_not_read_from_the_database_again(storefront_api):
    # given a key that authenticated once
    status, first = _auth_queries(storefront_api)
    assert status == 200
    assert first, "the first request reads the key and its permissions"

    # when it calls again
    status, again = _auth_queries(storefront_api)

    # then neither the key nor the permissions are queried
    assert status == 200
    assert again == []


def test_cached_permissions_still_refuse_what_the_role_lacks(warehouse_api):
    # given a warehouse key, remembered
    assert warehouse_api.get(f"{ORDERS}?channel=web").status_code == 200

    # when it tries what only a storefront may do
    response = warehouse_api.post(ORDERS, {}, format="json")

    # then it is refused
    assert response.status_code == 403


def test_a_revoked_key_is_refused_at_once(storefront_api, django_capture_on_commit_callbacks):
    # given a key in the cache
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200

    # when it is revoked
    with django_capture_on_commit_callbacks(execute=True):
        assert ApiKey.objects.revoke() == 1

    # then the next request is refused, without waiting for the cache to expire
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 401
    assert cache.get(api_key_cache_key(_prefix(storefront_api))) == REVOKED


def test_revoking_in_the_admin_refuses_the_key_at_once(
    storefront_api, admin_client, django_capture_on_commit_callbacks
):
    # given a key in the cache
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200
    key = ApiKey.objects.get(prefix=_prefix(storefront_api))

    # when an admin revokes it
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:oms_apikey_changelist"),
            {"action": "revoke", "_selected_action": [key.pk], "confirm": "yes"},
        )

    # then
    assert response.status_code == 302
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 401


def test_a_stale_entry_cannot_overwrite_the_revocation(
    storefront_api, django_capture_on_commit_callbacks
):
    # given a request that read the key just before it was revoked
    from oms.auth import _entry

    key = ApiKey.objects.select_related("user").get(prefix=_prefix(storefront_api))
    stale = _entry(key)
    with django_capture_on_commit_callbacks(execute=True):
        ApiKey.objects.revoke()

    # when that request writes its entry after the revocation committed
    added = cache.add(api_key_cache_key(key.prefix), stale, 30)

    # then the revocation's marker stays and the key is refused
    assert added is False
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 401


def test_the_secret_is_checked_even_when_the_key_is_cached(storefront_api):
    # given a key in the cache
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200

    # when a caller sends its prefix with another secret
    storefront_api.credentials(HTTP_AUTHORIZATION=f"Bearer {storefront_api.api_key[:-3]}xyz")

    # then it is refused
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 401


def test_zero_seconds_reads_the_key_on_every_request(storefront_api, settings):
    # given the cache turned off
    settings.OMS_API_KEY_CACHE_SECONDS = 0
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200

    # when the key calls again
    status, again = _auth_queries(storefront_api)

    # then the key is read again
    assert status == 200
    assert any("oms_apikey" in s for s in again)


def test_a_role_losing_a_permission_applies_after_the_cache_time(storefront_api, settings):
    # given a storefront key remembered with orders.view_order
    settings.OMS_API_KEY_CACHE_SECONDS = 30
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200
    group = Group.objects.get(name="storefront")
    group.permissions.remove(Permission.objects.get(codename="view_order"))

    # when the entry expires (the cache time passes)
    cache.delete(api_key_cache_key(_prefix(storefront_api)))

    # then the role's new permissions apply
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 403


def test_the_built_key_is_reused_while_the_cached_entry_is_the_same(storefront_api):
    """Each request still reads the shared entry; what this process built from
    it is reused only while the entry is unchanged."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.test import APIRequestFactory

    from oms.auth import ApiKeyAuthentication

    def authenticate():
        request = APIRequestFactory().get(
            ORDERS, HTTP_AUTHORIZATION=f"Bearer {storefront_api.api_key}"
        )
        return ApiKeyAuthentication().authenticate(request)

    assert storefront_api.get(ORDERS).status_code == 200  # the entry is cached
    user1, key1 = authenticate()
    user2, key2 = authenticate()
    assert key2 is key1
    assert user2 is user1

    # when the entry changes (a role's permissions, read again after the cache time)
    entry_key = api_key_cache_key(_prefix(storefront_api))
    entry = cache.get(entry_key)
    entry["perms"] = [*entry["perms"], "orders.add_order_extra"]
    cache.set(entry_key, entry, 30)
    user3, key3 = authenticate()
    assert key3 is not key1
    assert "orders.add_order_extra" in user3.get_all_permissions()

    # and once revoked, refused at once although this process built it before
    cache.set(entry_key, REVOKED, 30)
    with pytest.raises(AuthenticationFailed, match="Invalid or revoked"):
        authenticate()
