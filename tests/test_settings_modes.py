"""The settings module's three promises, checked in fresh interpreters.

Settings are read once per process, so each mode runs in a subprocess with an
environment built from scratch (only PATH is inherited): what the developer's or
CI's shell happens to export cannot leak in.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent

READ_SETTINGS = """
import json
import oms.settings as s
from oms.celery import app
app.config_from_object(s, namespace="CELERY")
print(json.dumps({
    "debug": s.DEBUG,
    "engine": s.DATABASES["default"]["ENGINE"],
    "name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL,
    "celery_broker": app.conf.broker_url,
    "folders": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "email": s.EMAIL_BACKEND,
    "var_dir": str(s.VAR_DIR),
    "conn_max_age": s.DATABASES["default"]["CONN_MAX_AGE"],
    "conn_health_checks": s.DATABASES["default"]["CONN_HEALTH_CHECKS"],
}))
"""


def clean_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **extra}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = clean_env(
        OMS_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="oms.example.com",
        OMS_VAR_DIR=str(tmp_path),
        OMS_PAYOUT_KEY=Fernet.generate_key().decode(),
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def test_production_mode_passes_check_deploy_without_warnings(tmp_path):
    # given production settings with a strong key and a host
    env = production_env(tmp_path)

    # when Django's deployment checklist runs
    result = run(["manage.py", "check", "--deploy"], env)

    # then it finds nothing at all, not even warnings
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "OMS_ENV=production needs SECRET_KEY"),
        ({"SECRET_KEY": "too-short"}, "OMS_ENV=production needs SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "OMS_ENV=production needs ALLOWED_HOSTS"),
        ({"OMS_PAYOUT_KEY": None}, "OMS_ENV=production needs OMS_PAYOUT_KEY"),
        ({"OMS_PAYOUT_KEY": "not-a-fernet-key"}, "OMS_PAYOUT_KEY must be Fernet keys"),
    ],
)
def test_production_mode_refuses_to_start_without_its_secrets(tmp_path, overrides, message):
    # given production mode with a required setting missing or too weak
    env = production_env(tmp_path, **overrides)

    # when the settings are loaded
    result = run(["manage.py", "check"], env)

    # then start-up fails and says what is missing
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_no_environment_runs_embedded_sqlite_and_filesystem_broker():
    # given no environment at all beyond PATH
    env = clean_env()

    # when the settings and the Celery app are loaded
    result = run(["-c", READ_SETTINGS], env)

    # then it is the embedded mode: SQLite and the filesystem broker in var/
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    var_dir = BASE_DIR / "var"
    assert config["debug"] is True
    assert config["engine"] == "django.db.backends.sqlite3"
    assert Path(config["name"]) == var_dir / "db.sqlite3"
    assert config["broker"].startswith("filesystem://")
    assert config["celery_broker"].startswith("filesystem://")
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        folder = Path(config["folders"][key])
        assert folder.is_relative_to(var_dir)
        assert folder.is_dir()
    assert config["email"] == "django.core.mail.backends.console.EmailBackend"


def test_environment_switches_to_postgres_and_redis(tmp_path):
    # given the URLs a deployment sets
    env = clean_env(
        DATABASE_URL="postgres://oms:secret@db.internal:5432/oms",
        CELERY_BROKER_URL="redis://cache.internal:6379/0",
        OMS_VAR_DIR=str(tmp_path),
    )

    # when the settings are loaded
    result = run(["-c", READ_SETTINGS], env)

    # then PostgreSQL and Redis are used, with no filesystem folders
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["engine"] == "oms.db.postgresql"  # Django's, with a cheaper health check
    assert config["name"] == "oms"
    assert config["celery_broker"] == "redis://cache.internal:6379/0"
    assert "data_folder_in" not in config["folders"]
    # and connections persist between requests, checked before reuse
    assert config["conn_max_age"] == 60
    assert config["conn_health_checks"] is True


def test_connection_reuse_can_be_turned_off(tmp_path):
    # given a deployment that wants one connection per request
    env = clean_env(
        DATABASE_URL="postgres://oms:secret@db.internal:5432/oms",
        CONN_MAX_AGE="0",
        CONN_HEALTH_CHECKS="false",
        OMS_VAR_DIR=str(tmp_path),
    )

    # when the settings are loaded
    result = run(["-c", READ_SETTINGS], env)

    # then connections are closed after each request
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["conn_max_age"] == 0
    assert config["conn_health_checks"] is False
