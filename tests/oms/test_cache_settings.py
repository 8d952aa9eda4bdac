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
            "django.core.cache.backends.redis.RedisCache",
            "redis://broker.internal:6379/0",
        ),
        (
            {
                "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
                "CACHE_URL": "redis://cache.internal:6379/2",
            },
            "django.core.cache.backends.redis.RedisCache",
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
