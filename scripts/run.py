"""Run the web server, a Celery worker and Celery beat together for `make run`.

Why a launcher instead of honcho or a Procfile: it needs no extra dependency,
and it gives the guarantees `make run` promises. Each child runs in its own
session, so a terminal Ctrl-C reaches only this process, which then stops the
children once, in order, instead of every process getting the signal at once
(a Celery worker treats a second SIGINT as a cold shutdown). On Linux each child
also gets PR_SET_PDEATHSIG, so even if this launcher is killed with SIGKILL the
children get SIGTERM and nothing is left running. When any child exits, the
others are stopped and the launcher exits with that child's status.
"""

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
STOP_TIMEOUT = 15.0

DEMO_LOGINS = [
    ("admin", "admin-demo-pass", "superuser: Django admin, everything"),
    ("agent", "agent-demo-pass", "CX agent: agent console"),
    ("supervisor", "supervisor-demo-pass", "CX supervisor: approvals, overrides"),
    ("ops", "ops-demo-pass", "ops: policies, SLA settings, stock, dead letters"),
    ("finance", "finance-demo-pass", "finance: refunds, reconciliation"),
    ("warehouse", "warehouse-demo-pass", "warehouse / QC: inspection"),
]


def _die_with_parent() -> None:
    """Ask the kernel to SIGTERM this child when the launcher dies (Linux only)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _commands(port: int, web_workers: int | None, worker_concurrency: int) -> dict[str, list[str]]:
    # gunicorn.conf.py sets the web workers (one single-threaded process per
    # CPU, WEB_CONCURRENCY / WEB_THREADS override it); --web-workers too.
    workers = ["--workers", str(web_workers)] if web_workers else []
    return {
        "web": [
            str(BIN_DIR / "gunicorn"),
            "oms.wsgi",
            "--config",
            str(BASE_DIR / "gunicorn.conf.py"),
            "--bind",
            f"0.0.0.0:{port}",
            *workers,
            "--access-logfile",
            "-",
        ],
        "worker": [
            str(BIN_DIR / "celery"),
            "-A",
            "oms",
            "worker",
            "--loglevel",
            "info",
            "--concurrency",
            str(worker_concurrency),
        ],
        # The schedule file lives in var/ (CELERY_BEAT_SCHEDULE_FILENAME).
        "beat": [str(BIN_DIR / "celery"), "-A", "oms", "beat", "--loglevel", "info"],
    }


def _wait_for_port(port: int, procs: dict[str, subprocess.Popen], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def _banner(port: int) -> str:
    base = f"http://localhost:{port}"
    lines = [
        "",
        "=" * 72,
        "OMS is running (web + Celery worker + Celery beat). Ctrl-C stops all three.",
        "",
        f"  Home            {base}/",
        f"  Django admin    {base}/admin/",
        f"  API docs        {base}/api/docs/",
        f"  Return portal   {base}/returns/",
        f"  Agent console   {base}/console/",
        "",
        "  Demo logins (created by `manage.py seed_demo`):",
    ]
    lines += [f"    {user:<11} {password:<22} {role}" for user, password, role in DEMO_LOGINS]
    lines += ["=" * 72, ""]
    return "\n".join(lines)


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every live child (warm shutdown), then SIGKILL its group after a grace."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"[run] {name} did not stop in {STOP_TIMEOUT:.0f}s; killing it", flush=True)
    for proc in procs.values():
        # The child is a session leader, so its pid is its process group id:
        # this also reaches pool processes it may have left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--web-workers",
        type=int,
        default=None,
        help="gunicorn worker processes (default: gunicorn.conf.py's, one per CPU)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()

    stop_requested = False

    def request_stop(signum, _frame):
        nonlocal stop_requested
        if not stop_requested:
            print(f"\n[run] {signal.Signals(signum).name} received; stopping", flush=True)
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    procs: dict[str, subprocess.Popen] = {}
    exit_code = 0
    try:
        for name, cmd in _commands(args.port, args.web_workers, args.worker_concurrency).items():
            print(f"[run] starting {name}: {' '.join(cmd)}", flush=True)
            procs[name] = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd, cwd=BASE_DIR, env=env, preexec_fn=_die_with_parent
            )

        if _wait_for_port(args.port, procs, timeout=30) and not stop_requested:
            print(_banner(args.port), flush=True)

        while not stop_requested:
            dead = [(name, p.returncode) for name, p in procs.items() if p.poll() is not None]
            if dead:
                name, code = dead[0]
                print(f"[run] {name} exited with status {code}; stopping the others", flush=True)
                # A negative status means "killed by signal N"; report it the shell way.
                exit_code = 128 - code if code < 0 else (code or 1)
                break
            time.sleep(0.3)
    finally:
        _stop(procs)
    print("[run] all processes stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
