"""A throwaway PostgreSQL database for a bench script: created for the run,
dropped afterwards. Shared by the bench scripts; `make
bench` skips this module (its name starts with an underscore)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

PROTECTED = ("", "postgres", "oms")


def admin_connection(url: str):
    """(autocommit connection to the server's ``postgres`` database, the name in ``url``)."""
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    return conn, parts.path.lstrip("/")


def create_database(url: str, *, reuse: bool, what: str = "a benchmark") -> None:
    conn, name = admin_connection(url)
    if name in PROTECTED:
        raise SystemExit(f"refusing to use database {name!r} for {what}")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cur.fetchone() is not None
        if exists and not reuse:
            raise SystemExit(f"database {name} exists; drop it or pass --reuse")
        if not exists:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def drop_database(url: str) -> None:
    from django.db import connections

    connections.close_all()
    conn, name = admin_connection(url)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


def django_setup(url: str | None, *, eager: bool) -> None:
    """Point Django at ``url`` (None: the environment's, or the embedded
    SQLite), set it up and migrate (Celery eager or not)."""
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if url is not None:
        os.environ["DATABASE_URL"] = url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1" if eager else "0"
    # Messages are still written and delivered, just not printed.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)


def analyze() -> None:
    """``VACUUM ANALYZE`` the bench database after seeding, as autovacuum
    would have done by the time a real database holds that many rows: a
    planner that still believes the tables empty picks plans no production
    database runs (a sequential scan of every order line to read one order's
    units, 1.9 ms instead of 0.05). The raw ceiling runs on the same tables."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
