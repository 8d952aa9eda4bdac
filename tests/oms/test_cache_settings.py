"""The cache every process shares: Redis when configured, else the database."""

import json

import pytest

from tests.test_settings_modes import clean_env, run

READ = """
import json
import oms.settings as s
print(json.dumps(s.CACHES["default"]))
"""


@pytest.mark.parametrize(
    ("env", "backend", "location"),
    [
        ({}, "oms.cache.DatabaseCache", "oms_cache"),
        (
            {"CELERY_BROKER_URL": "redis://broker.internal:6379/0"},
            "oms.cache.RedisCache",
            "redis://broker.internal:6379/0",
        ),
        (
            {
                "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
                "CACHE_URL": "redis://cache.internal:6379/2",
            },
            "oms.cache.RedisCache",
            "redis://cache.internal:6379/2",
        ),
    ],
)
def test_cache_backend_follows_the_environment(tmp_path, env, backend, location):
    result = run(["-c", READ], clean_env(OMS_VAR_DIR=str(tmp_path), **env))
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert (config["BACKEND"], config["LOCATION"]) == (backend, location)


def test_a_cache_url_that_is_not_redis_is_refused(tmp_path):
    result = run(["-c", READ], clean_env(OMS_VAR_DIR=str(tmp_path), CACHE_URL="memcached://x"))
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr


def test_the_redis_cache_keeps_one_client_per_pool():
    """oms.cache.RedisCache: Django's client made a new redis.Redis per call."""
    from django.core.cache.backends.redis import RedisCacheClient

    from oms.cache import RedisCache

    cache = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": "t-client"})
    client = cache._cache
    assert isinstance(client, RedisCacheClient)
    assert client.get_client(write=True) is client.get_client(write=True)
    assert client.get_client(write=False) is client.get_client(write=False)
    # Django's own makes a new one each time: the reason for the subclass
    plain = RedisCacheClient(["redis://127.0.0.1:6379/15"])
    assert plain.get_client(write=True) is not plain.get_client(write=True)
    # (reads and writes through it run in the PostgreSQL + Redis step: the
    # API-key cache uses it)
