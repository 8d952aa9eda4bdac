"""The portal's limits count in the shared cache, per client address as a
trusted proxy reports it, and survive another process or a restart."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from oms import ratelimit
from oms.cache import DatabaseCache
from oms.clientip import client_ip

SHARED = {"oms.cache.DatabaseCache", "oms.cache.RedisCache"}


def _lookup(client, number, contact="x@example.com", **extra):
    return client.post("/returns/", {"order_number": number, "contact": contact}, **extra)


def test_the_configured_cache_is_shared_by_every_process(settings):
    assert settings.CACHES["default"]["BACKEND"] in SHARED


@pytest.mark.django_db
def test_sixty_lookups_over_three_workers_let_five_through(client, order):
    # given three "workers", each with its own cache client (as three
    # gunicorn processes have), taking requests in turn
    workers = [caches.create_connection("default") for _ in range(3)]
    codes = []
    for i in range(60):
        with mock.patch.object(ratelimit, "cache", workers[i % 3]):
            codes.append(_lookup(client, order.number, f"guess{i}@example.com").status_code)
    # then five pass in all, not five per worker
    assert codes.count(302) == 5
    assert codes[:5] == [302] * 5


@pytest.mark.django_db
def test_a_restart_does_not_reset_the_limits(client, order, settings):
    for _ in range(5):
        assert _lookup(client, order.number).status_code == 302
    # when the process "restarts": every cache client is thrown away
    settings.CACHES = {alias: dict(options) for alias, options in settings.CACHES.items()}
    # then the address is still limited
    assert _lookup(client, order.number).status_code == 429


@pytest.mark.django_db
def test_without_a_trusted_header_a_forged_forwarded_for_changes_nothing(client, order, settings):
    settings.OMS_TRUSTED_PROXY_HEADER = ""
    codes = [
        _lookup(client, order.number, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(6)
    ]
    assert codes == [302] * 5 + [429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, order, settings):
    settings.OMS_TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.OMS_TRUSTED_PROXY_COUNT = 1
    # given one client behind the proxy, who prepends a new forged hop each time
    codes = [
        _lookup(
            client,
            order.number,
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7",
        ).status_code
        for i in range(6)
    ]
    assert codes == [302] * 5 + [429]
    # then another client behind the same proxy is not limited by it
    r = _lookup(
        client,
        order.number,
        order.email,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert r.status_code == 302


@pytest.mark.parametrize(
    ("header", "count", "meta", "expected"),
    [
        ("", 1, {"HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.1"),
        ("X-Forwarded-For", 1, {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"}, "1.2.3.4"),
        ("X-Forwarded-For", 2, {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.1.1.1"}, "1.2.3.4"),
        ("X-Forwarded-For", 2, {"HTTP_X_FORWARDED_FOR": "1.2.3.4"}, "10.0.0.1"),
        ("X-Forwarded-For", 1, {"HTTP_X_FORWARDED_FOR": "not-an-ip"}, "10.0.0.1"),
        ("X-Forwarded-For", 1, {}, "10.0.0.1"),
        ("X-Real-IP", 1, {"HTTP_X_REAL_IP": "2001:db8::1"}, "2001:db8::1"),
        ("X-Real-IP", 1, {"HTTP_X_REAL_IP": "[2001:db8::1]:443"}, "2001:db8::1"),
        ("X-Real-IP", 1, {"HTTP_X_REAL_IP": "1.2.3.4:5678"}, "1.2.3.4"),
    ],
)
def test_client_ip_trusts_only_the_configured_header(settings, header, count, meta, expected):
    settings.OMS_TRUSTED_PROXY_HEADER = header
    settings.OMS_TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **meta)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_code_tries_are_limited_per_address(client, order, settings, mailoutbox):
    settings.OMS_PORTAL_CODE_TRIES_PER_IP = 3
    _lookup(client, order.number, order.email)
    codes = [client.post("/returns/verify/", {"code": "000000"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def _db_cache():
    return DatabaseCache("oms_cache", {"KEY_PREFIX": f"dbtest-{id(object())}"})


@pytest.mark.django_db
def test_database_cache_incr_keeps_the_window():
    cache = _db_cache()
    cache.add("n", 0, 600)
    key = cache.make_and_validate_key("n")

    def expires():
        with connection.cursor() as cursor:
            cursor.execute("SELECT expires FROM oms_cache WHERE cache_key = %s", [key])
            return cursor.fetchone()[0]

    before = expires()
    assert [cache.incr("n") for _ in range(3)] == [1, 2, 3]
    assert expires() == before  # Django's own incr would reset it to the default 300 s
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")


@pytest.mark.django_db
def test_database_cache_incr_ignores_an_expired_entry():
    cache = _db_cache()
    cache.set("n", 7, 600)
    past = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(seconds=5))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE oms_cache SET expires = %s WHERE cache_key = %s",
            [past, cache.make_and_validate_key("n")],
        )
    with pytest.raises(ValueError, match="not found"):
        cache.incr("n")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_cache_incr_is_atomic_across_connections():
    cache = _db_cache()
    cache.add("n", 0, 600)
    seen: list[int] = []

    def work():
        try:
            for _ in range(25):
                seen.append(cache.incr("n"))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 101))
