"""Timeline rows and jobs kept by a change and written in one INSERT at its end
(``orders.events.timeline_batched``, ``oms.jobs.jobs_batched``): the same rows,
in the same order, as when each is written at once, and a savepoint rolled
back inside the block loses only its own."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oms.jobs import job_enqueue, jobs_batched
from oms.models import Job
from orders.events import Event, EventActor, timeline_batched, timeline_record
from orders.models import TimelineEvent

pytestmark = pytest.mark.django_db

ACTOR = EventActor.system("test")


@pytest.fixture
def order(make_sku, make_order):
    make_sku("WB-TEE", Decimal("100.00"), stock=5)
    return make_order([("WB-TEE", 1)])


def _record(order, n: int) -> None:
    timeline_record(order=order, actor=ACTOR, event=Event("test", n, "test.step", message=str(n)))


def _messages(order) -> list[str]:
    return list(
        TimelineEvent.objects.filter(order=order, type="test.step")
        .order_by("pk")
        .values_list("message", flat=True)
    )


def _boom():
    raise RuntimeError("rolled back")


def _savepoint_rolled_back(write) -> None:
    """``write`` inside a savepoint that fails; the caller goes on."""
    try:
        with transaction.atomic():
            write()
            _boom()
    except RuntimeError:
        pass


def test_kept_rows_are_written_in_one_statement_in_recorded_order(order):
    # given a change that records three rows
    with CaptureQueriesContext(connection) as ctx, transaction.atomic(), timeline_batched():
        for n in (1, 2, 3):
            _record(order, n)
        # then nothing is written before the change ends
        assert _messages(order) == []
    # (on PostgreSQL a prepared insert: EXECUTE oms_insert_<table>_<rows>_<n>)
    inserts = [
        q for q in ctx.captured_queries if q["sql"].startswith(("INSERT", "EXECUTE oms_insert_"))
    ]

    # then the three are written by one INSERT, in the order recorded
    assert len(inserts) == 1
    assert _messages(order) == ["1", "2", "3"]


def test_a_row_recorded_in_a_savepoint_keeps_its_place(order):
    # given rows recorded before, inside and after a savepoint within the change
    with transaction.atomic(), timeline_batched():
        _record(order, 1)
        with transaction.atomic():
            _record(order, 2)
        _record(order, 3)

    # then their primary keys follow the order they were recorded in
    assert _messages(order) == ["1", "2", "3"]


def test_a_savepoint_rolled_back_loses_only_its_own_rows(order):
    # given a change whose savepoint records a row and is rolled back, the
    # change going on
    with transaction.atomic(), timeline_batched():
        _record(order, 1)
        _savepoint_rolled_back(lambda: _record(order, 2))
        _record(order, 3)

    # then the rows of the change are there and the savepoint's is not
    assert _messages(order) == ["1", "3"]


def test_an_exception_discards_the_kept_rows(order):
    # given a change that fails after recording a row
    def change():
        with transaction.atomic(), timeline_batched():
            _record(order, 1)
            _boom()

    with pytest.raises(RuntimeError):
        change()

    # then nothing was written
    assert _messages(order) == []


def _tasks() -> list[list]:
    return list(Job.objects.order_by("pk").values_list("args", flat=True))


def test_kept_jobs_are_written_in_order_and_published_after_commit(
    order, django_capture_on_commit_callbacks
):
    # given a change that enqueues three jobs, one inside a savepoint rolled back
    with (
        django_capture_on_commit_callbacks() as callbacks,
        transaction.atomic(),
        jobs_batched(),
    ):
        job_enqueue("orders.tasks.message_deliver_task", 1)
        _savepoint_rolled_back(lambda: job_enqueue("orders.tasks.message_deliver_task", 2))
        job_enqueue("orders.tasks.message_deliver_task", 3)
        # job 1, written just before the savepoint's own, went with it
        assert _tasks() == []

    # then the change's two jobs are written in order, each to be published once
    assert _tasks() == [[1], [3]]
    assert len(callbacks) == 2


def test_rows_of_several_orders_join_an_open_batch_in_order(order):
    # given a change that records a row, then a sweep-style bulk of rows, then another
    from orders.events import TimelineEntry, timeline_record_rows

    with transaction.atomic(), timeline_batched():
        _record(order, 1)
        timeline_record_rows(
            [TimelineEntry(order.pk, Event("test", 2, "test.step", message="2"), ACTOR)]
        )
        _record(order, 3)
        # then nothing is written before the block ends
        assert _messages(order) == []
    # and all three are written in the order they were recorded
    assert _messages(order) == ["1", "2", "3"]


def test_a_bulk_of_jobs_joins_an_open_batch_in_order(order):
    from oms.jobs import job_enqueue_many

    with transaction.atomic(), jobs_batched():
        job_enqueue("orders.tasks.outbox_flush_task", 1)
        job_enqueue_many("orders.tasks.outbox_flush_task", [(2,), (3,)])
        assert not Job.objects.filter(task="orders.tasks.outbox_flush_task").exists()
    args = list(
        Job.objects.filter(task="orders.tasks.outbox_flush_task")
        .order_by("pk")
        .values_list("args", flat=True)
    )
    assert args == [[1], [2], [3]]
