"""gunicorn's settings for every way the product starts: `make run`
(scripts/run.py), the Docker image and docker-compose. gunicorn reads this
file from the working directory; a command-line flag or the environment
variables below override it.

One single-threaded worker process per CPU. The web requests are CPU-bound
Python (payment gateways and couriers are called from Celery tasks, not from
requests), and Python threads in one process take turns on one interpreter
lock. Measured on the 2-core machine with `bench/api_load.py` (return
creation, 16 clients, PostgreSQL, 2 December 2026):

| workers x threads (class) | returns/s | p95 | web CPU per return |
| --- | --- | --- | --- |
| 2 x 2 (gthread), before | 153-160 | 177-199 ms | 7.3-8.0 ms |
| 2 x 1 (gthread) | 168 | 130 ms | 7.3 ms |
| 2 x 1 (sync) | 189-201 | 99-106 ms | 6.1-6.7 ms |
| 3 x 1 (sync) | 155 | 129 ms | 8.2 ms |
| 4 x 1 (sync) | 152-158 | 121-122 ms | 8.4-8.9 ms |

A sync worker serves one connection at a time and closes it after the
response (no keep-alive), so, as gunicorn's documentation says of it, put a
buffering proxy in front of it in production (nginx, a cloud load balancer,
the one that terminates TLS), and set WEB_THREADS above 1 (the gthread
worker) when there is none.
"""

import gc
import math
import os
from pathlib import Path


def _cpus() -> int:
    """The CPUs this process may use: its affinity, and in a container the
    cgroup's CPU quota when lower (a container limited to 2 CPUs on a 32-core
    host runs 2 workers, not 32, each holding a database connection)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 2
    try:  # cgroup v2: "<quota> <period>", or "max <period>" for no limit
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


workers = int(os.environ.get("WEB_CONCURRENCY") or _cpus())
# More than one thread turns the worker class into gthread (keep-alive).
threads = int(os.environ.get("WEB_THREADS") or 1)
# A sync worker busy longer than this on one request is restarted.
timeout = int(os.environ.get("WEB_TIMEOUT") or 120)
graceful_timeout = 10
# gunicorn's logger, building only the access-log atoms its format uses
# (oms/weblog.py).
logger_class = "oms.weblog.Logger"


def post_worker_init(worker) -> None:
    """Once a worker has loaded the application: what it built so far
    (modules, URL patterns, settings, models' metadata...) lives as long as
    the process, so it is moved out of the garbage collector's full
    collections (``gc.freeze``). Scanning it paused the worker, and every
    request waiting on it, for up to 57 ms a full collection under the return
    creation bench; 13-14 ms frozen."""
    gc.freeze()
