"""oms.prepared: a queryset compiled once gives what the queryset gives."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import BooleanField, CharField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.db.models.signals import post_init
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django_fsm import ConcurrentTransition

from oms.prepared import insert_rows, prepared
from orders.models import Line, Order, Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_orders(make_order):
    def make(n=2):
        return [make_order(lines=[("TEE-M", 2, Decimal("999.00"))]) for _ in range(n)]

    return make


def test_values_rows_equal_the_querysets_and_the_query_is_built_once(make_orders):
    a, b = make_orders()
    built = []

    @prepared
    def lines(order_id):
        built.append(order_id)
        return (
            Line.objects.filter(order_id=order_id)
            .order_by("position")
            .values("id", "sku__code", "unit_price", "quantity")
        )

    for order in (a, b, a):
        expected = list(
            Line.objects.filter(order_id=order.pk)
            .order_by("position")
            .values("id", "sku__code", "unit_price", "quantity")
        )
        assert lines(order.pk) == expected
        assert isinstance(expected[0]["unit_price"], Decimal)
    assert len(built) == 1  # compiled on the first call only


def test_tuples_flat_and_models_with_select_related(make_orders):
    a, _b = make_orders()

    @prepared
    def unit_tuples(order_id):
        return Unit.objects.filter(order_id=order_id).order_by("pk").values_list("id", "state")

    @prepared
    def unit_ids(order_id):
        return Unit.objects.filter(order_id=order_id).order_by("pk").values_list("id", flat=True)

    @prepared
    def units(order_id):
        return (
            Unit.objects.select_related("line__sku", "order")
            .filter(order_id=order_id)
            .order_by("pk")
        )

    assert unit_tuples(a.pk) == list(
        Unit.objects.filter(order_id=a.pk).order_by("pk").values_list("id", "state")
    )
    assert unit_ids(a.pk) == list(
        Unit.objects.filter(order_id=a.pk).order_by("pk").values_list("id", flat=True)
    )
    got = units(a.pk)
    assert [u.pk for u in got] == unit_ids(a.pk)
    with CaptureQueriesContext(connection) as ctx:
        assert got[0].line.sku.code == "TEE-M"
        assert got[0].order.number == a.number
        assert got[0].net_paid == Unit.objects.get(pk=got[0].pk).net_paid
    assert len(ctx.captured_queries) == 1  # the .get() above; the relations were loaded
    assert got[0]._state.adding is False
    assert got[0]._state.db == "default"


def test_string_arguments_and_annotations(make_orders):
    _a, b = make_orders()

    @prepared
    def by_number(number):
        return (
            Order.objects.filter(number=number)
            .annotate(code=Cast("pk", output_field=CharField()))
            .order_by()
        )

    got = by_number(b.number)
    assert [o.pk for o in got] == [b.pk]
    assert got[0].code == str(b.pk)
    assert by_number("no-such-order") == []


@pytest.mark.parametrize("bad", [None, True, 1.5, [1, 2]])
def test_arguments_other_than_int_or_str_are_refused(bad):
    @prepared
    def lines(order_id):
        return Line.objects.filter(order_id=order_id).values("id")

    with pytest.raises(TypeError, match="int or str"):
        lines(bad)


def test_a_lookup_that_rewrites_its_argument_is_refused():
    @prepared
    def search(text):
        return Order.objects.filter(number__icontains=text).values("id")

    with pytest.raises(ValueError, match="rewritten by its lookup"):
        search("abc")


def test_an_argument_that_does_not_reach_the_sql_is_refused():
    @prepared
    def ignores(order_id):
        return Line.objects.all().values("id")

    with pytest.raises(ValueError, match="did not reach the SQL"):
        ignores(1)


@pytest.mark.django_db(transaction=True)
def test_select_for_update_needs_a_transaction(make_orders):
    (a,) = make_orders(1)
    with transaction.atomic():
        assert [o.pk for o in _locked(a.pk)] == [a.pk]

    # in autocommit: refused where the backend locks rows (PostgreSQL), run
    # where it has no FOR UPDATE (SQLite), exactly as the ORM does
    def outcome(run):
        try:
            return [o.pk for o in run()]
        except TransactionManagementError:
            return "refused"

    ours = outcome(lambda: _locked(a.pk))
    assert ours == outcome(lambda: Order.objects.select_for_update().filter(pk=a.pk).order_by())
    assert ours == ("refused" if connection.features.has_select_for_update else [a.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_prepares_once_per_connection_and_survives_rollbacks(make_orders):
    a, b = make_orders()

    @prepared
    def lines(order_id):
        return Line.objects.filter(order_id=order_id).order_by("position").values("id")

    with CaptureQueriesContext(connection) as ctx:
        first = lines(a.pk)
    assert [q["sql"].split("(")[0] for q in ctx.captured_queries] == [
        f"EXECUTE {lines.prepared_cache[(int,)][1].statement.name}"
    ]
    assert first == list(Line.objects.filter(order_id=a.pk).order_by("position").values("id"))
    name = lines.prepared_cache[(int,)][1].statement.name
    assert name.startswith("oms_lines_")  # says what it is in a log
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
        assert cursor.fetchone()[0] == 1

    # a rolled-back transaction does not take the prepared statement with it
    with transaction.atomic():
        assert lines(b.pk)
        transaction.set_rollback(True)
    assert lines(b.pk) == list(Line.objects.filter(order_id=b.pk).order_by("position").values("id"))

    # a new connection has none: it is prepared again there
    connection.close()
    assert lines(a.pk) == first


@prepared
def _locked(order_id):
    return Order.objects.select_for_update().filter(pk=order_id).order_by()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_statement_postgresql_will_not_prepare_is_sent_whole_and_the_transaction_goes_on(
    make_orders,
):
    (a,) = make_orders(1)

    @prepared
    def untyped(order_id):
        # "$2 IS NULL": the server cannot tell the parameter's type, refuses PREPARE
        return (
            Order.objects.filter(pk=order_id)
            .annotate(unset=RawSQL("%s IS NULL", (order_id,), output_field=BooleanField()))
            .values("pk", "unset")
        )

    with transaction.atomic():
        assert untyped(a.pk) == [{"pk": a.pk, "unset": False}]
        # the transaction is still usable after the refused PREPARE
        assert Order.objects.filter(pk=a.pk).exists()
    assert untyped.prepared_cache[(int,)][1].statement.unpreparable is True
    assert untyped(a.pk) == [{"pk": a.pk, "unset": False}]


def _fields(obj) -> dict:
    return {k: v for k, v in vars(obj).items() if k not in ("_state", "_prefetched_objects_cache")}


def test_instances_are_what_from_db_builds(make_orders):
    """Built without Model.__init__: the same attributes, state and relations
    as the ORM's own instances, deferred fields left to load on access."""
    (a,) = make_orders(1)

    @prepared
    def units(order_id):
        return (
            Unit.objects.select_related("line__sku")
            .only("id", "state", "line__id", "line__position", "line__sku__code")
            .filter(order_id=order_id)
            .order_by("pk")
        )

    ours = units(a.pk)
    orm = list(
        Unit.objects.select_related("line__sku")
        .only("id", "state", "line__id", "line__position", "line__sku__code")
        .filter(order_id=a.pk)
        .order_by("pk")
    )
    assert len(ours) == len(orm) == 2
    for mine, theirs in zip(ours, orm, strict=True):
        assert {k for k in _fields(mine) if not k.startswith("_")} == {
            k for k in _fields(theirs) if not k.startswith("_")
        }
        assert mine.state == theirs.state
        assert (mine._state.adding, mine._state.db) == (False, "default")
        assert mine.line.sku.code == theirs.line.sku.code
        assert mine.line.pk == theirs.line.pk
        assert mine.get_deferred_fields() == theirs.get_deferred_fields()
        # a deferred field loads on access, as on the ORM's instance
        assert mine.net_paid == theirs.net_paid
    # django-fsm-2's initial state is recorded: a stale instance is refused
    Unit.objects.filter(pk=ours[0].pk).update(state="cancelled")
    ours[0].serial = "x"
    with pytest.raises(ConcurrentTransition):
        ours[0].save()


def test_a_model_with_an_init_listener_is_built_by_from_db(make_orders):
    (a,) = make_orders(1)
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    @prepared
    def lines(order_id):
        return Line.objects.filter(order_id=order_id)

    post_init.connect(listener, sender=Line)
    try:
        got = lines(a.pk)
    finally:
        post_init.disconnect(listener, sender=Line)
    assert seen == got
    assert len(got) == 1


# --- insert_rows -------------------------------------------------------------------


def _row(model, pk) -> dict:
    row = model.objects.filter(pk=pk).values().get()
    row.pop("id")
    return row


def test_insert_rows_writes_what_bulk_create_writes(make_orders):
    """The same columns and values, auto_now_add and JSON included, for one
    row and for several, and each object gets its key and saved state."""
    from django.utils import timezone

    from oms.models import Job
    from oms.prepared import insert_rows
    from orders.models import OutboundMessage

    (order,) = make_orders(1)
    at = timezone.now()

    def jobs():
        return [
            Job(task="t.a", args=[1, {"k": "v"}], due_at=at, next_publish_at=at) for _ in range(3)
        ]

    for n in (1, 3):
        ours, theirs = jobs()[:n], jobs()[:n]
        with CaptureQueriesContext(connection) as ctx:
            assert insert_rows(ours) is ours
        assert len(ctx.captured_queries) == 1
        Job.objects.bulk_create(theirs)
        for mine, other in zip(ours, theirs, strict=True):
            assert mine.pk is not None
            assert (mine._state.adding, mine._state.db) == (False, "default")
            a, b = _row(Job, mine.pk), _row(Job, other.pk)
            assert a.pop("created_at") <= b.pop("created_at")
            assert a == b
    # more rows than a kept statement: bulk_create's own, one statement too
    many = [Job(task="t.many", due_at=at, next_publish_at=at) for _ in range(40)]
    with CaptureQueriesContext(connection) as ctx:
        insert_rows(many)
    assert len([q for q in ctx.captured_queries if "INSERT" in q["sql"]]) == 1
    assert len({j.pk for j in many}) == 40
    assert Job.objects.filter(task="t.many").count() == 40
    (message,) = insert_rows(
        [OutboundMessage(order=order, to="a@example.com", template="x", subject="s", body="b")]
    )
    assert OutboundMessage.objects.get(pk=message.pk).order_id == order.pk


def test_insert_rows_hands_what_it_does_not_cover_to_bulk_create(make_orders):
    from django.db.models import Value
    from django.utils import timezone

    from oms.models import Job
    from oms.prepared import insert_rows

    at = timezone.now()
    # a value that is an expression: bulk_create compiles it
    job = Job(task=Value("t.expr"), due_at=at, next_publish_at=at)
    insert_rows([job])
    assert Job.objects.get(pk=job.pk).task == "t.expr"
    # a key already set: bulk_create writes it as given
    taken = Job(pk=987_654, task="t.pk", due_at=at, next_publish_at=at)
    insert_rows([taken])
    assert Job.objects.get(pk=987_654).task == "t.pk"


def test_a_row_and_a_job_naming_it_are_written_as_one_by_one_would(make_orders):
    """On PostgreSQL one statement writes both; elsewhere nothing is written
    and the caller inserts them one by one. Either way, the same rows as
    insert_rows then job_enqueue write."""
    from django.utils import timezone

    from oms.jobs import job_enqueue_for
    from oms.models import Job
    from oms.prepared import insert_row_and_naming_row
    from orders.models import OutboundMessage

    (order,) = make_orders(1)
    at = timezone.now()

    def message():
        return OutboundMessage(order=order, to="a@example.com", template="x", subject="s", body="b")

    # the primitive: both rows, their keys, the job's args naming the row
    mine = message()
    job = Job(task="t.deliver", args=[], due_at=at, next_publish_at=at)
    with CaptureQueriesContext(connection) as ctx:
        written = insert_row_and_naming_row(mine, job, json_field="args")
    assert written is (connection.vendor == "postgresql")
    if written:
        assert len(ctx.captured_queries) == 1
        assert (mine._state.adding, job._state.adding) == (False, False)
        assert job.args == [mine.pk]
        stored = Job.objects.get(pk=job.pk)
        assert (stored.task, stored.args, stored.state) == ("t.deliver", [mine.pk], "pending")
        assert OutboundMessage.objects.get(pk=mine.pk).order_id == order.pk
    else:
        assert ctx.captured_queries == []
        assert (mine.pk, job.pk) == (None, None)

    # the jobs' entry point: the same rows on every database
    from orders.tasks import message_deliver_task

    ours = message()
    queued = job_enqueue_for(message_deliver_task, ours)
    theirs = message()
    OutboundMessage.objects.bulk_create([theirs])
    a, b = _row(OutboundMessage, ours.pk), _row(OutboundMessage, theirs.pk)
    assert a.pop("created_at") <= b.pop("created_at")
    assert a == b
    stored = Job.objects.get(pk=queued.pk)
    assert (stored.task, stored.args) == ("orders.tasks.message_deliver_task", [ours.pk])
    assert stored.state == "pending"
    assert stored.next_publish_at > stored.due_at


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_column_changed_under_a_prepared_statement_is_prepared_again(make_orders):
    """A migration that changes a returned column's type makes PostgreSQL
    refuse the prepared statement ("cached plan must not change result
    type"): in autocommit the statement is sent whole at once, in a
    transaction the error goes up once; either way the next call prepares it
    again, under a new name."""
    from django.db import NotSupportedError

    (a,) = make_orders(1)

    @prepared
    def numbers(order_id):
        return Order.objects.filter(pk=order_id).values_list("number", flat=True)

    assert numbers(a.pk) == [a.number]
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE orders_order ALTER COLUMN "number" TYPE varchar(201)')
    try:
        assert numbers(a.pk) == [a.number]  # autocommit: sent whole
        assert numbers(a.pk) == [a.number]  # prepared again
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE orders_order ALTER COLUMN "number" TYPE varchar(202)')
        with pytest.raises(NotSupportedError), transaction.atomic():
            numbers(a.pk)
        assert numbers(a.pk) == [a.number]
        with transaction.atomic():
            assert numbers(a.pk) == [a.number]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT character_maximum_length FROM information_schema.columns "
                "WHERE table_name = 'orders_order' AND column_name = 'number'"
            )
            (length,) = cursor.fetchone()
            field = Order._meta.get_field("number")
            cursor.execute(
                f'ALTER TABLE orders_order ALTER COLUMN "number" TYPE varchar({field.max_length})'
            )
        assert length == 202


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_preparing_in_a_broken_transaction_is_refused_as_the_orm_refuses(make_orders):
    from django.db import IntegrityError

    (a,) = make_orders(1)

    @prepared
    def fresh(order_id):
        return Order.objects.filter(pk=order_id).values_list("pk", flat=True)

    with transaction.atomic():
        try:
            with transaction.atomic(savepoint=False):
                Order.objects.create(number=a.number, channel=a.channel, currency="INR")
        except IntegrityError:
            pass
        with pytest.raises(TransactionManagementError):
            fresh(a.pk)


@pytest.mark.postgres
def test_oms_pg_prepare_off_sends_the_sql_itself(make_orders, settings):
    (a,) = make_orders(1)
    settings.OMS_PG_PREPARE = False

    @prepared
    def numbers(order_id):
        return Order.objects.filter(pk=order_id).values_list("number", flat=True)

    with CaptureQueriesContext(connection) as ctx:
        assert numbers(a.pk) == [a.number]
    assert ctx.captured_queries[0]["sql"].startswith("SELECT")


@pytest.mark.django_db(transaction=True)
def test_an_insert_that_fails_marks_its_atomic_block_for_rollback():
    """As save() and bulk_create() do: a caller that catches the error cannot
    go on and commit the block (nor run its on-commit hooks)."""
    from django.db import IntegrityError

    from oms.prepared import insert_rows
    from orders.models import Channel

    ran = []
    with transaction.atomic():
        insert_rows([Channel(code="dup", name="first")])
        transaction.on_commit(lambda: ran.append("hook"))
        with pytest.raises(IntegrityError):
            insert_rows([Channel(code="dup", name="second")])
        assert connection.needs_rollback
    assert ran == []
    assert not Channel.objects.filter(code="dup").exists()


@prepared
def _unit_ids(order_id):
    """An order's unit ids, for the kept-cursor tests below."""
    return Unit.objects.filter(order_id=order_id).order_by("pk").values_list("id", flat=True)


def test_one_cursor_is_kept_for_the_statements_and_replaced_with_the_connection(make_orders):
    a, b = make_orders()

    expected = {o.pk: list(o.units.order_by("pk").values_list("id", flat=True)) for o in (a, b)}
    assert _unit_ids(a.pk) == expected[a.pk]
    kept = connections["default"].__dict__["_oms_cursor"][1]
    assert _unit_ids(b.pk) == expected[b.pk]
    assert connections["default"].__dict__["_oms_cursor"][1] is kept  # not opened again
    # a capture sees each statement (a cursor of its own, as the ORM's)
    with CaptureQueriesContext(connection) as ctx:
        assert _unit_ids(a.pk) == expected[a.pk]
    assert len(ctx.captured_queries) == 1


@pytest.mark.postgres  # SQLite's test database is in memory: close() keeps it open
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_cursor(make_orders):
    (a,) = make_orders(1)

    expected = list(a.units.order_by("pk").values_list("id", flat=True))
    assert _unit_ids(a.pk) == expected
    old = connections["default"].__dict__["_oms_cursor"][1]
    connection.close()
    assert _unit_ids(a.pk) == expected  # reconnects, as the ORM would
    assert _unit_ids(a.pk) == expected
    kept = connections["default"].__dict__["_oms_cursor"]
    assert kept[1] is not old
    assert kept[0] is connections["default"].connection


def test_no_cursor_is_kept_before_the_requests_health_check(make_orders):
    (a,) = make_orders(1)

    wrapper = connections["default"]
    wrapper.__dict__.pop("_oms_cursor", None)
    saved = wrapper.health_check_enabled, wrapper.health_check_done
    checked = []
    wrapper.close_if_health_check_failed = lambda: checked.append(True)
    wrapper.health_check_enabled, wrapper.health_check_done = True, False
    try:
        assert _unit_ids(a.pk) == list(a.units.order_by("pk").values_list("id", flat=True))
    finally:
        wrapper.health_check_enabled, wrapper.health_check_done = saved
        del wrapper.close_if_health_check_failed
    assert checked  # the statement went through connection.cursor() and its check
    assert "_oms_cursor" not in wrapper.__dict__


def test_the_kept_cursor_still_runs_the_connections_execute_wrappers(make_orders):
    (a,) = make_orders(1)

    _unit_ids(a.pk)  # a cursor kept
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    expected = list(a.units.order_by("pk").values_list("id", flat=True))
    with connection.execute_wrapper(wrapper):
        assert _unit_ids(a.pk) == expected
    assert len(seen) == 1


def test_no_cursor_is_kept_on_a_connection_shared_between_threads(make_orders):
    (a,) = make_orders(1)

    wrapper = connections["default"]
    wrapper.__dict__.pop("_oms_cursor", None)
    wrapper.inc_thread_sharing()  # as a test's live server does
    try:
        assert _unit_ids(a.pk) == list(a.units.order_by("pk").values_list("id", flat=True))
        assert "_oms_cursor" not in wrapper.__dict__
    finally:
        wrapper.dec_thread_sharing()


def test_insert_values_sent_as_they_are_equal_what_the_fields_would_send(make_orders):
    """insert_rows skips pre_save/get_db_prep_save for exact str/int/bool
    values of plain fields: for each kind of value, what it sends is what
    the field itself would have given."""
    from oms.prepared import _passing_types
    from orders.events import EventActor
    from orders.models import TimelineEvent
    from orders.states import UnitState

    (a,) = make_orders(1)
    row = TimelineEvent(
        order=a,
        entity="unit",
        entity_id="12",
        type=UnitState.DELIVERED,  # a TextChoices member: not exactly a str
        from_state="",
        to_state="",
        actor_kind=EventActor.system("t").kind,
        actor_label="x" * 3,
        message="m",
        payload={"k": 1},
        occurred_at=a.placed_at,
    )
    fields = [f for f in TimelineEvent._meta.concrete_fields if not f.primary_key]
    passing = {f.name for f in fields if _passing_types(f, connection)}
    assert passing >= {"order", "entity", "entity_id", "type", "message"}
    assert not passing & {"payload", "occurred_at", "recorded_at"}  # converted or stamped
    for field in fields:
        types = _passing_types(field, connection)
        value = getattr(row, field.attname)
        full = field.get_db_prep_save(field.pre_save(row, True), connection)
        if types is not None and (value is None or type(value) in types):
            assert value == full, field.name
            assert type(value) is type(full), field.name
    # and the row written reads back as the ORM would have written it
    (written,) = insert_rows([row])
    again = TimelineEvent.objects.get(pk=written.pk)
    assert (again.order_id, again.entity_id, again.type, again.to_state, again.payload) == (
        a.pk,
        "12",
        UnitState.DELIVERED.value,
        "",
        {"k": 1},
    )


def test_update_rows_writes_what_bulk_update_writes():
    """One statement for any number of rows, with the values bulk_update
    would write: a nullable boolean set and cleared, text, a choice given as
    its enum member, and an integer foreign key; rows not given are not
    touched, and the count is the rows matched."""
    from oms.prepared import update_rows
    from returns.models import ReturnItem
    from returns.states import Disposition
    from tests.factories.returns import ReturnFactory

    ours = list(ReturnFactory(units=3).items.order_by("pk"))
    theirs = list(ReturnFactory(units=3).items.order_by("pk"))
    fields = ["qc_passed", "grade", "disposition", "qc_notes", "reserved_at"]
    location = ours[0].return_request.location_id
    for items in (ours, theirs):
        for i, item in enumerate(items[:2]):
            item.qc_passed = [True, None][i]
            item.grade = ["A", "C — scuffed"][i]
            item.disposition = [Disposition.RESTOCK, Disposition.REFURBISH][i]
            item.qc_notes = ["", "it's 'quoted'"][i]
            item.reserved_at_id = [location, None][i]
    untouched = {f: getattr(ours[2], f) for f in ["qc_passed", "grade", "disposition"]}
    for n in (1, 2):
        with CaptureQueriesContext(connection) as ctx:
            assert update_rows(ours[:n], fields) == n
        assert len(ctx.captured_queries) == 1
        assert "CASE" not in ctx.captured_queries[0]["sql"]
    ReturnItem.objects.bulk_update(theirs[:2], fields)

    def row(item):
        values = ReturnItem.objects.filter(pk=item.pk).values(*fields).get()
        return values

    for mine, other in zip(ours, theirs, strict=True):
        assert row(mine) == row(other)
    assert row(ours[0])["disposition"] == "restock"
    assert row(ours[1])["qc_notes"] == "it's 'quoted'"
    assert {f: row(ours[2])[f] for f in untouched} == untouched


def test_update_rows_hands_what_it_does_not_cover_to_bulk_update():
    from django.db.models import Value

    from oms.prepared import update_rows
    from returns.models import ReturnItem
    from tests.factories.returns import ReturnFactory

    (item,) = ReturnFactory().items.all()
    item.grade = Value("B")  # an expression: bulk_update compiles it
    with CaptureQueriesContext(connection) as ctx:
        assert update_rows([item], ["grade"]) == 1
    assert "CASE" in ctx.captured_queries[-1]["sql"]
    assert ReturnItem.objects.get(pk=item.pk).grade == "B"
    item.refresh_from_db()
    item.price_difference = Decimal("12.50")  # a decimal field: not passed as it is
    assert update_rows([item], ["price_difference"]) == 1
    assert ReturnItem.objects.get(pk=item.pk).price_difference == Decimal("12.50")
    assert update_rows([], ["grade"]) == 0
