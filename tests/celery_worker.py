"""Starting a real Celery worker on the live test database: the one command
line and environment the worker tests share (tests/jobs, tests/sla)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import IO

from django.conf import settings

WORKER_ARGV = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "oms",
    "worker",
    "-P",
    "solo",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "WARNING",
]


def worker_env(broker_url: str, **extra: str) -> dict[str, str]:
    """This process's environment (without pytest's variables), pointed at
    the test database (``transaction=True`` tests: the worker must see
    committed rows) and at ``broker_url``, publishing for real; ``extra`` on top."""
    from django.db import connection

    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        {
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def worker_start(
    env: dict[str, str], *, stdout: IO[bytes] | int, beat: bool = False
) -> subprocess.Popen:
    """``celery -A oms worker`` (solo pool, with beat if ``beat``) in its own
    session, so the caller can signal its whole process group."""
    return subprocess.Popen(  # noqa: S603 - our own argv
        [*WORKER_ARGV, "-B"] if beat else WORKER_ARGV,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
