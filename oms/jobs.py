"""Durable work: every Celery task the product queues is a ``Job`` row first.

``job_enqueue(task, *args, due_at=None)`` is called inside the transaction of
the change that needs the work (instead of ``transaction.on_commit(lambda:
task.delay(...))``). The row commits or rolls back with the change. After
commit the job is published to the broker; a broker that is down is logged,
never raised: the request that committed still answers 2xx.

A job stays ``pending`` until its task finishes. The worker marks it through
Celery's signals (the task id names the job: ``oms-job-<pk>-<nonce>``):
``task_prerun`` renews its lease, ``task_retry`` moves the lease past the
retry's countdown, ``task_success`` marks it done and ``task_failure`` failed
(a database or broker error leaves it pending). ``job_sweep`` (beat, every
``OMS_JOB_SWEEP_SECONDS``, and at each worker's start) publishes again every
pending job whose lease ran out: one never published, one whose message Redis
lost, one whose worker was killed mid-task. Tasks are idempotent, so a job
published twice does its work once.

A job due later than one lease from now (an SLA check at a leg's deadline)
is not published at commit: the sweep publishes it when it falls due.

Leases: a job is expected to have run ``OMS_JOB_LEASE_SECONDS`` after it was
due or started; each publish by the sweep doubles the wait before the next
(up to an hour), so a long queue is not flooded with copies.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .prepared import insert_row_and_naming_row, insert_rows

logger = logging.getLogger(__name__)

TASK_ID = re.compile(r"^oms-job-(\d+)-")
MAX_BACKOFF = timedelta(hours=1)
# After a publish fails, skip publishing for a few seconds: a request that
# queues several jobs while the broker is down pays the connection error once.
BROKER_QUIET_SECONDS = 5.0
_broker_down_until = 0.0


def job_lease() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "OMS_JOB_LEASE_SECONDS", 90)))


def _task_name(task) -> str:
    return task if isinstance(task, str) else task.name


def _job_new(task, args: list, due_at: datetime | None = None) -> tuple:
    """A new job row for ``task(*args)`` and whether it is published at
    commit. Work due within a lease is published then (with an ETA); work due
    later waits in the table for the sweep, so no broker holds ETA messages
    for days (Redis would hand them out again after its visibility timeout)."""
    from .models import Job

    now = timezone.now()
    due_at = due_at or now
    soon = due_at <= now + job_lease() or _eager()
    job = Job(
        task=_task_name(task),
        args=args,
        due_at=due_at,
        next_publish_at=max(now, due_at) + job_lease() if soon else due_at,
    )
    return job, soon


def _publish_at_commit(jobs: list) -> None:
    for job in jobs:
        transaction.on_commit(lambda job=job: job_publish(job))


def job_enqueue(task, *args, due_at: datetime | None = None):
    """Write a job for ``task(*args)`` in the current transaction and publish
    it after commit (with an ETA when ``due_at`` is in the future)."""
    job, soon = _job_new(task, list(args), due_at)
    batch = _batch.get()
    if batch is not None:
        if len(connection.savepoint_ids) == batch.depth:
            batch.jobs.append((job, soon))
            return job
        if batch.jobs:  # inside a savepoint: what was kept goes first
            kept, batch.jobs = batch.jobs, []
            _jobs_write(kept)
            batch.early.append(kept)
    _jobs_write([(job, soon)])
    return job


def job_enqueue_for(task, obj):
    """Insert the new row ``obj`` and a job for ``task(obj.pk)``, due now,
    published after commit as ``job_enqueue``'s. On PostgreSQL both rows go
    in one statement (``oms.prepared.insert_row_and_naming_row``), where
    ``insert_rows`` then ``job_enqueue`` took two round trips; elsewhere, and
    inside a ``jobs_batched`` block (whose jobs are written together, in
    order), it is those two. Returns the job."""
    if _batch.get() is None:
        job, soon = _job_new(task, [])
        if insert_row_and_naming_row(obj, job, json_field="args"):
            _publish_at_commit([job] if soon else [])
            return job
    insert_rows([obj])
    return job_enqueue(task, obj.pk)


def job_enqueue_many(task, args_list: list[tuple]) -> list:
    """``job_enqueue(task, *args)`` for each args tuple, due now: one insert
    for all of them (a sweep that queues one job per row it changed), each
    published after commit as ``job_enqueue`` does."""
    from .models import Job

    if not args_list:
        return []
    if _batch.get() is not None:  # a jobs_batched block writes them, in order
        return [job_enqueue(task, *args) for args in args_list]
    now = timezone.now()
    jobs = insert_rows(
        [
            Job(
                task=_task_name(task),
                args=list(args),
                due_at=now,
                next_publish_at=now + job_lease(),
            )
            for args in args_list
        ]
    )
    _publish_at_commit(jobs)
    return jobs


def _jobs_write(jobs: list) -> None:

    insert_rows([job for job, _ in jobs])
    _publish_at_commit([job for job, soon in jobs if soon])


@dataclass
class _Batch:
    depth: int  # savepoints open when the batch began
    jobs: list = field(default_factory=list)  # [(job, publish at commit)]
    # Kept jobs written early, inside a savepoint opened within the block (a
    # job enqueued there goes after them): checked when the block ends.
    early: list[list] = field(default_factory=list)


_batch: ContextVar[_Batch | None] = ContextVar("jobs_batch", default=None)


@contextmanager
def jobs_batched() -> Iterator[None]:
    """Inside (in one transaction), the jobs enqueued are written in one INSERT
    when the block ends, in order, and published after commit as usual.

    A job enqueued inside a savepoint opened within the block is written at
    once, so a savepoint rolled back takes it with it; the jobs kept so far
    are written just before it, to keep the order. Should that savepoint be
    rolled back and the block go on, those kept jobs are written (and their
    publishing registered) again when the block ends (one query checks).
    Nested blocks write with the outermost one; an exception discards the
    kept jobs (their transaction rolls back)."""
    from .models import Job

    if _batch.get() is not None:
        yield
        return
    batch = _Batch(len(connection.savepoint_ids))
    token = _batch.set(batch)
    try:
        yield
        # a kept job written early survived: its key and what it runs (on
        # SQLite a rolled-back savepoint gives its key back to the next insert)
        lost = [
            jobs
            for jobs in batch.early
            if not Job.objects.filter(
                pk=jobs[-1][0].pk, task=jobs[-1][0].task, args=jobs[-1][0].args
            ).exists()
        ]
        for jobs in lost:
            for job, _ in jobs:
                job.pk = None
                job._state.adding = True
        kept = [pair for jobs in lost for pair in jobs] + batch.jobs
        if kept:
            _jobs_write(kept)
    finally:
        _batch.reset(token)


def _eager() -> bool:
    from oms.celery import app

    return bool(app.conf.task_always_eager)


def job_publish(job) -> bool:
    """Send one job to the broker. Returns False (and logs) if the broker
    could not be reached; the sweep publishes it later. Run eagerly (tests),
    the task runs here and its errors propagate as they always did."""
    global _broker_down_until
    eta = job.due_at if job.due_at > timezone.now() else None
    task_id = f"oms-job-{job.pk}-{uuid.uuid4().hex[:12]}"
    if _eager():
        try:
            import_string(job.task).apply_async(job.args, task_id=task_id, eta=eta)
        except Exception as exc:
            # Propagating eagerly, Celery sends no failure signal: record it here.
            on_task_failure(task_id=task_id, exception=exc)
            raise
        return True
    if time.monotonic() < _broker_down_until:
        logger.warning("job %s (%s) not published: broker down; the sweep will", job.pk, job.task)
        return False
    try:
        task = import_string(job.task)
    except ImportError as exc:  # a task renamed or removed: nothing can run it
        logger.error("job %s names no task %r", job.pk, job.task)
        on_task_failure(task_id=task_id, exception=exc)
        return False
    try:
        _task_publish(task, job.args, task_id=task_id, eta=eta)
    except Exception:
        # kombu.exceptions.OperationalError, redis errors, socket errors...:
        # the change is committed and the job row is its promise.
        _broker_down_until = time.monotonic() + BROKER_QUIET_SECONDS
        logger.warning(
            "job %s (%s) not published; the sweep will publish it", job.pk, job.task, exc_info=True
        )
        return False
    return True


def _args_repr(args: list) -> str:
    """The arguments as the worker's log shows them. Celery's own (``saferepr``,
    walking the value piece by piece) took a tenth of a publish; a job's
    arguments are a few ids and codes, so ``repr`` cut to Celery's 1,024
    characters says the same."""
    text = repr(args)
    return text if len(text) <= 1024 else text[:1021] + "..."


@dataclass(frozen=True)
class _Route:
    """Where and how a task's message goes, as ``apply_async`` decides it for
    a task with no routes and no per-task options: the default queue, through
    the anonymous exchange, with the app's serializer and publish retry."""

    queue: object  # kombu.Queue
    serializer: str
    delivery_mode: int | str
    retry: bool
    retry_policy: dict


# By task and by the settings the route is decided from, read on each publish
# (a few lookups), so a setting changed at run time (tests do) is never missed.
_routes: dict[tuple, _Route | None] = {}
_PER_TASK_OPTIONS = (
    "queue",
    "routing_key",
    "exchange",
    "priority",
    "expires",
    "delivery_mode",
    "compression",
    "time_limit",
    "soft_time_limit",
    "immediate",
    "mandatory",
)


def _route(task) -> _Route | None:
    """The publish of ``task`` when ``apply_async`` would route it plainly,
    else None (a route, a per-task option, a result backend, sent events,
    task compression or a non-direct default exchange: ``apply_async`` then
    publishes it). Decided once per task and settings."""
    app = task.app
    conf = app.conf
    key = (
        id(app),
        task.name,
        conf.task_default_queue,
        id(conf.task_routes),
        conf.task_serializer,
        conf.task_publish_retry,
        id(conf.task_publish_retry_policy),
        conf.task_send_sent_event,
        conf.task_compression,
        id(app.backend),
    )
    if key in _routes:
        return _routes[key]
    from celery.app.task import Task
    from celery.backends.base import DisabledBackend

    options = task._get_exec_options()
    queue = app.amqp.queues[conf.task_default_queue]
    plain = (
        # a task class that overrides apply_async (an instrumentation's, a
        # base class of the project's) must get its say
        getattr(type(_unproxied(task)), "apply_async", None) is Task.apply_async
        and not conf.task_routes
        and not conf.task_send_sent_event
        and not conf.task_inherit_parent_priority
        and not conf.task_compression
        and isinstance(app.backend, DisabledBackend)
        and all(options.get(k) is None for k in _PER_TASK_OPTIONS)
        and getattr(queue.exchange, "type", "direct") == "direct"
    )
    route = None
    if plain:
        route = _Route(
            queue=queue,
            serializer=options.get("serializer") or conf.task_serializer,
            delivery_mode=getattr(queue.exchange, "delivery_mode", None)
            or conf.task_default_delivery_mode,
            retry=conf.task_publish_retry,
            retry_policy=dict(conf.task_publish_retry_policy or {}),
        )
    _routes[key] = route
    return route


def _unproxied(task):
    """The task object behind ``shared_task``'s proxy."""
    get = getattr(task, "_get_current_object", None)
    return get() if get is not None else task


def _task_publish(task, args: list, *, task_id: str, eta: datetime | None) -> None:
    """Publish ``task(*args)`` as ``task.apply_async(args, task_id=...)``
    would: the same message (Celery's own builder, ``create_task_message``)
    through the same producer pool, exchange, routing key, serializer,
    delivery mode and publish retry, but without ``apply_async``'s per-call
    work (options merged and routed again on every call, the arguments'
    ``saferepr``, the queue's declaration rebound and copied when the
    connection has declared it already). Measured in the gunicorn workers
    under the return creation bench: the customer message's publish at
    commit 1.29 ms of CPU before, 0.84-0.93 ms after (README, Benchmarks).
    A task with an ETA, routes, per-task options, an overridden
    ``apply_async``, or anyone listening to the publish signals goes through
    ``apply_async``; the arguments are checked against the task as there;
    tests compare the two messages field by field."""
    from celery import signals

    route = None if eta is not None else _route(task)
    argsrepr = _args_repr(args)
    if (
        route is None
        or signals.before_task_publish.receivers
        or signals.after_task_publish.receivers
    ):
        task.apply_async(args, task_id=task_id, eta=eta, argsrepr=argsrepr, kwargsrepr="{}")
        return
    if task.typing:  # arguments checked against the task's signature, as apply_async does
        check = getattr(task, "__header__", None)
        if check is not None:
            check(*args)
    app = task.app
    root_id = parent_id = None
    parent = app.current_worker_task
    if parent:  # published from a task: the same lineage apply_async records
        root_id = parent.request.root_id or parent.request.id
        parent_id = parent.request.id
    headers, properties, body, _sent_event = app.amqp.create_task_message(
        task_id,
        task.name,
        args,
        {},
        reply_to=app.thread_oid,
        root_id=root_id,
        parent_id=parent_id,
        ignore_result=task.ignore_result,
        argsrepr=argsrepr,
        kwargsrepr="{}",
    )
    queue = route.queue
    with app.producer_or_acquire() as producer:
        declared = hash(queue) in producer.connection.declared_entities
        with producer.connection._reraise_as_library_errors():
            producer.publish(
                body,
                exchange="",
                routing_key=queue.name,
                serializer=route.serializer,
                compression=None,
                retry=route.retry,
                retry_policy=route.retry_policy,
                delivery_mode=route.delivery_mode,
                declare=[] if declared else [queue],
                headers=headers,
                timeout=None,
                confirm_timeout=None,
                **properties,
            )


def job_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Publish again the pending jobs whose lease ran out. Returns how many
    were published; stops at the first publish the broker refuses."""
    from .models import Job

    global _broker_down_until
    now = now or timezone.now()
    _broker_down_until = 0.0  # the sweep always tries the broker
    jobs = list(
        Job.objects.filter(state=Job.State.PENDING, next_publish_at__lte=now).order_by(
            "next_publish_at", "pk"
        )[:limit]
    )
    published = 0
    for job in jobs:
        if not job_publish(job):
            if time.monotonic() < _broker_down_until:
                break  # the broker is down: the next sweep tries again
            continue
        backoff = min(job_lease() * 2 ** min(job.publishes + 1, 12), MAX_BACKOFF)
        Job.objects.filter(pk=job.pk, state=Job.State.PENDING).update(
            publishes=job.publishes + 1, published_at=now, next_publish_at=now + backoff
        )
        published += 1
    if published:
        logger.info("job sweep published %s job(s)", published)
    return published


def job_prune(*, older_than: timedelta = timedelta(days=14)) -> int:
    """Delete done jobs older than ``older_than``; failed ones stay for ops."""
    from .models import Job

    cutoff = timezone.now() - older_than
    deleted, _ = Job.objects.filter(state=Job.State.DONE, finished_at__lt=cutoff).delete()
    return deleted


# --- the worker's side: Celery signals ------------------------------------------


def _job_id(task_id: str | None) -> int | None:
    match = TASK_ID.match(task_id or "")
    return int(match.group(1)) if match else None


def _update(job_id: int, **fields) -> None:
    from .models import Job

    try:
        Job.objects.filter(pk=job_id).exclude(state=Job.State.DONE).update(**fields)
    except DatabaseError:
        # The job stays pending and is published again; the task is idempotent.
        logger.warning("could not record job %s: %s", job_id, fields.get("state"), exc_info=True)


def on_task_prerun(sender=None, task_id=None, **kwargs) -> None:
    job_id = _job_id(task_id)
    if job_id is None:
        return
    from django.db.models import F

    now = timezone.now()
    _update(job_id, started_at=now, runs=F("runs") + 1, next_publish_at=now + job_lease())


def on_task_retry(sender=None, request=None, reason=None, **kwargs) -> None:
    job_id = _job_id(getattr(request, "id", None))
    if job_id is None:
        return
    now = timezone.now()
    when = getattr(reason, "when", None)
    at = when if isinstance(when, datetime) else now + timedelta(seconds=float(when or 0))
    _update(job_id, next_publish_at=at + job_lease(), last_error=str(reason)[:2000])


def on_task_success(sender=None, **kwargs) -> None:
    job_id = _job_id(getattr(getattr(sender, "request", None), "id", None))
    if job_id is None:
        return
    from .models import Job

    _update(job_id, state=Job.State.DONE, finished_at=timezone.now(), last_error="")


def _transient(exc: BaseException | None) -> bool:
    from celery.exceptions import WorkerLostError
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    return isinstance(exc, OperationalError | InterfaceError | BrokerError | WorkerLostError)


def on_task_failure(sender=None, task_id=None, exception=None, **kwargs) -> None:
    job_id = _job_id(task_id)
    if job_id is None:
        return
    from .models import Job

    error = f"{type(exception).__name__}: {exception}"[:2000]
    if _transient(exception):
        # The database or broker failed, not the work: try again after a lease.
        _update(job_id, next_publish_at=timezone.now() + job_lease(), last_error=error)
        return
    _update(job_id, state=Job.State.FAILED, finished_at=timezone.now(), last_error=error)


def on_worker_ready(sender=None, **kwargs) -> None:
    """A worker that starts publishes what is due and not done."""
    from django.db import connections

    try:
        job_sweep()
    except Exception:
        logger.exception("job sweep at worker start failed")
    finally:
        # Pool processes fork from here: they must not share this connection.
        connections.close_all()


def connect_signals() -> None:
    from celery import signals

    signals.task_prerun.connect(on_task_prerun, dispatch_uid="oms.jobs.prerun", weak=False)
    signals.task_retry.connect(on_task_retry, dispatch_uid="oms.jobs.retry", weak=False)
    signals.task_success.connect(on_task_success, dispatch_uid="oms.jobs.success", weak=False)
    signals.task_failure.connect(on_task_failure, dispatch_uid="oms.jobs.failure", weak=False)
    signals.worker_ready.connect(on_worker_ready, dispatch_uid="oms.jobs.ready", weak=False)
