"""Soak: 10,000 random operations from concurrent API clients on PostgreSQL,
then every invariant of DOMAIN.md.

    python bench/soak.py                      # 10,000 operations, 4 clients
    python bench/soak.py --ops 2000 --threads 6 --seed 3

Uses a throwaway PostgreSQL database: ``SOAK_DATABASE_URL`` if set (it must
not exist yet, unless ``--reuse``), else the server of ``DATABASE_URL``
(default postgres://postgres@127.0.0.1:5432/oms) with a database named
``<name>_soak_<pid>``. It is created, migrated, and dropped at the end
(``--keep`` leaves it). Celery runs eagerly, as in the tests; messages go to
the in-memory mail backend.

The operations, the invariants and the drain are in ``tests/soak/engine.py``
(shared with the CI test ``tests/soak/test_soak.py``). Prints operations by
kind with accepted (2xx) and refused (4xx) counts, the invariant checks run,
the failures and the time; exits 1 on any failure (a 5xx, an invalid
operation accepted, a broken invariant, work left undone).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _throwaway_db import create_database, drop_database  # noqa: E402


def database_url() -> tuple[str, bool]:
    """(url, explicit): the soak's own database."""
    if os.environ.get("SOAK_DATABASE_URL"):
        return os.environ["SOAK_DATABASE_URL"], True
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/oms"
    if not base.startswith("postgres"):
        raise SystemExit("the soak runs on PostgreSQL: set DATABASE_URL=postgres://...")
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/') or 'oms'}_soak_{os.getpid()}"
    return urlunsplit(parts._replace(path=f"/{name}")), False


def setup(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import logging

    import django

    django.setup()
    # 4xx answers are the point of half the operations: do not log each one.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    logging.getLogger("celery").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=10_000, help="operations (default 10000)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checks", type=int, default=5, help="invariant checks during the run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use an existing database")
    args = parser.parse_args()
    url, _ = database_url()
    create_database(url, reuse=args.reuse, what="the soak")
    try:
        setup(url)
        from django.db import connection

        from tests.soak import engine

        print(
            f"soak: {args.ops} operations, {args.threads} clients, seed {args.seed}, "
            f"database {connection.settings_dict['NAME']} ({connection.vendor})",
            flush=True,
        )
        t0 = time.perf_counter()
        figures = engine.run(
            ops=args.ops,
            threads=args.threads,
            seed=args.seed,
            checks=args.checks,
            log=lambda m: print(m, flush=True),
        )
        print(figures.report(verbose=True))
        print(f"wall time including set-up: {time.perf_counter() - t0:.1f} s")
        return 1 if figures.failures else 0
    finally:
        if not args.keep:
            drop_database(url)
        else:
            print(f"kept database {url}")


if __name__ == "__main__":
    sys.exit(main())
