"""Querysets compiled once per process and database, run with new parameters.

Building a queryset and compiling it to SQL is most of the CPU of a hot read:
on the order detail GET, ``SQLCompiler.as_sql`` and the ``filter()`` /
``values()`` chain behind it were about 45 % of the request's Python time,
for SQL that is the same on every request but for its parameters. ``@prepared``
keeps the ORM as the place the query is written (fields, joins, the backend's
own SQL and converters), and moves the compile out of the request::

    @prepared
    def order_lines(order_id):
        return Line.objects.filter(order_id=order_id).order_by("position").values(...)

    order_lines(order.pk)  # -> list of dicts, as list(queryset) would give

The first call for a database alias (and argument types) calls the function
with sentinel arguments, compiles the queryset and finds where each sentinel
lands among the SQL parameters. Every later call executes that SQL with the
real arguments in those places, through the connection's normal cursor (so
query capture, the debug toolbar and statement ceilings still see it), and
turns rows into what the queryset's own iterable would have yielded: dicts for
``values()``, tuples for ``values_list()``, scalars for ``flat=True``, model
instances (``select_related`` included) otherwise, with the backend's
converters applied.

Rules, checked when the query is compiled:

* arguments are ``int`` or ``str`` (not ``bool``, not ``None``: ``None`` turns
  ``=`` into ``IS NULL``, a different query);
* each argument must reach the SQL unchanged, as one exact parameter (``=``,
  ``<``, ``>`` lookups). A lookup that rewrites its value (``icontains``
  escapes and wraps it) or a list (``__in`` has one placeholder per item) is
  refused with ``ValueError``: write those as ordinary querysets;
* ``select_for_update()`` needs a transaction, as the ORM itself demands.

On PostgreSQL the statement is also prepared on the server, once per
connection (``PREPARE``, sent on the driver's own cursor, so query capture
counts only the ``EXECUTE`` a request runs), and run with ``EXECUTE``: the
server parses and plans it once per connection too. The return detail's
one-statement read joins eleven tables, and planning it cost PostgreSQL more
than running it (about 1.7 ms a request). A statement the server refuses to
prepare falls back to being sent whole, inside a savepoint so an open
transaction survives. A statement the server later refuses to run because a
migration changed a column it returns ("cached plan must not change result
type") is prepared again, under a new name, on its next use; in autocommit
it is sent whole at once. ``OMS_PG_PREPARE = False`` turns server-side
preparation off (for a pooler in transaction mode, such as PgBouncer before
1.21, which cannot keep a session's prepared statements).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
import sqlite3 as Database
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    QuerySet,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.models.signals import post_init, pre_init
from django.db.transaction import TransactionManagementError
from django_fsm import ConcurrentTransitionMixin as FsmConcurrentMixin
from django_fsm import FSMModelMixin

_FSM_MIXINS = (FsmConcurrentMixin, FSMModelMixin)
# Within a 32-bit integer's range and positive: Django drops or refuses a
# lookup whose value lies outside its field's range (IntegerFieldOverflow).
_SENTINEL_INT = 1_987_654_000
_SENTINEL_STR = "\x1eoms-prepared-{}\x1e"


class _Compiled:
    __slots__ = (
        "annotation_col_map",
        "col_count",
        "converters",
        "for_update",
        "init_list",
        "kind",
        "model",
        "model_slice",
        "names",
        "params",
        "populators",
        "slots",
        "sql",
        "statement",
        "trim",
    )


_names = itertools.count(1)
_PLACEHOLDER = re.compile(r"%(s|%)")


def _statement_name(what: str, n: int) -> str:
    """A server-side name that says what the statement is, for whoever reads
    ``EXECUTE oms_insert_orders_timelineevent_3_12(...)`` in a log."""
    return f"oms_{re.sub(r'[^a-z0-9_]', '', what.lower().lstrip('_'))[:48]}_{n}"


def _numbered(sql: str) -> str:
    """Django's ``%s`` placeholders as ``$1, $2, ...``, and ``%%`` as ``%``."""
    n = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: f"${next(n)}" if m.group(1) == "s" else "%", sql)


def _sentinel(kind: type, i: int) -> Any:
    return _SENTINEL_INT + i if kind is int else _SENTINEL_STR.format(i)


def _kind(value: Any) -> type:
    if isinstance(value, bool) or value is None:
        raise TypeError(f"prepared queries take int or str arguments, not {value!r}")
    if isinstance(value, int):
        return int
    if isinstance(value, str):
        return str
    raise TypeError(f"prepared queries take int or str arguments, not {type(value).__name__}")


def _compile(build: Callable[..., QuerySet], kinds: tuple[type, ...]) -> tuple[str, _Compiled]:
    sentinels = [_sentinel(k, i) for i, k in enumerate(kinds)]
    qs = build(*sentinels)
    if not isinstance(qs, QuerySet):
        raise TypeError(f"{build.__qualname__} must return a QuerySet, not {type(qs).__name__}")
    alias = qs.db
    query = qs.query
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    slots: list[int | None] = []
    found = set()
    for p in params:
        slot = None
        for i, s in enumerate(sentinels):
            if type(p) is type(s) and p == s:
                slot = i
                found.add(i)
                break
        if slot is None and any(isinstance(p, str) and str(s) in p for s in sentinels):
            raise ValueError(
                f"{build.__qualname__}: an argument was rewritten by its lookup ({p!r}); "
                "prepared queries take exact parameters only"
            )
        slots.append(slot)
    missing = set(range(len(sentinels))) - found
    if missing:
        raise ValueError(
            f"{build.__qualname__}: argument(s) {sorted(missing)} did not reach the SQL "
            "as an exact parameter"
        )
    c = _Compiled()
    c.statement = _Statement(_statement_name(build.__name__, next(_names)), sql, len(params))
    c.sql = sql
    c.params = list(params)
    c.slots = slots
    c.col_count = compiler.col_count
    c.converters = list(
        compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]]).items()
    )
    c.trim = compiler.has_extra_select
    c.for_update = bool(query.select_for_update)
    iterable = qs._iterable_class
    if iterable is ValuesIterable:
        c.kind = "values"
        c.names = (
            list(query.selected)
            if getattr(query, "selected", None)
            else [*query.extra_select, *query.values_select, *query.annotation_select]
        )
    elif iterable is ValuesListIterable:
        c.kind = "tuples"
    elif iterable is FlatValuesListIterable:
        c.kind = "flat"
    elif iterable is ModelIterable:
        c.kind = "models"
        if qs._known_related_objects:
            raise ValueError(f"{build.__qualname__}: related-manager querysets are not supported")
        klass_info = compiler.klass_info
        select = compiler.select
        fields = klass_info["select_fields"]
        c.model = klass_info["model"]
        c.model_slice = slice(fields[0], fields[-1] + 1)
        c.init_list = [f[0].target.attname for f in select[c.model_slice]]
        # RelatedPopulator holds only positions and classes: built once
        c.populators = get_related_populators(klass_info, select, alias)
        c.annotation_col_map = compiler.annotation_col_map
    else:
        raise ValueError(f"{build.__qualname__}: {iterable.__name__} is not supported")
    return alias, c


def prepared(build: Callable[..., QuerySet]) -> Callable[..., list]:
    """Decorate a function that builds a queryset from its arguments: calling it
    runs the queryset compiled once, and returns its rows as a list."""
    cache: dict[tuple, tuple[str, _Compiled]] = {}
    lock = threading.Lock()

    @functools.wraps(build)
    def run(*args: Any) -> list:
        kinds = tuple(_kind(a) for a in args)
        entry = cache.get(kinds)
        if entry is None:
            with lock:
                entry = cache.get(kinds)
                if entry is None:
                    entry = cache[kinds] = _compile(build, kinds)
        alias, c = entry
        connection = connections[alias]
        if (
            c.for_update
            and connection.features.has_select_for_update
            and connection.get_autocommit()
        ):
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = [p if s is None else args[s] for p, s in zip(c.params, c.slots, strict=True)]
        with _cursor(connection) as cursor:
            _execute(connection, cursor, c.statement, params)
            rows = cursor.fetchall()
        if c.trim:
            rows = [r[: c.col_count] for r in rows]
        if c.converters:
            rows = _convert(rows, c.converters, connection)
        if c.kind == "values":
            names = c.names
            return [dict(zip(names, r, strict=True)) for r in rows]
        if c.kind == "tuples":
            return [tuple(r) for r in rows]
        if c.kind == "flat":
            return [r[0] for r in rows]
        return _models(c, alias, rows)

    run.prepared_cache = cache  # type: ignore[attr-defined]
    return run


def _cursor(connection):
    """A cursor for one statement of this module: ``connection.cursor()``,
    kept open on the connection and used again by the next statement, while
    the driver connection is the same one and its health check (when on) was
    done this request. Opening a cursor (Django's wrapper around the driver's,
    its thread and health checks) was about a twentieth of a return's
    creation, whose statements run one after another on one connection.
    While queries are logged (``DEBUG``, query capture) each statement opens
    its own, as the ORM's do, so a capture sees it; so does a connection
    shared between threads (a test's live server shares its in-memory SQLite
    one), as the connection is otherwise this thread's alone."""
    raw = connection.connection
    if (
        raw is None
        or connection.queries_logged
        or (connection.health_check_enabled and not connection.health_check_done)
        or connection.allow_thread_sharing  # (a test's live server) one cursor per use
    ):
        return connection.cursor()
    kept = connection.__dict__.get("_oms_cursor")
    if kept is None or kept[0] is not raw or getattr(kept[1].cursor, "closed", False):
        kept = connection.__dict__["_oms_cursor"] = (raw, connection.cursor())
    return contextlib.nullcontext(kept[1])  # left open for the next statement


class _Statement:
    """One statement as sent: its SQL, and on PostgreSQL its server-side
    preparation (``unpreparable`` once the server has refused it)."""

    __slots__ = ("args", "body", "name", "sql", "unpreparable")

    def __init__(self, name: str, sql: str, n_params: int):
        self.name = name
        self.sql = sql
        self.body = _numbered(sql)
        self.args = f"({', '.join(['%s'] * n_params)})" if n_params else ""
        self.unpreparable = False


# SQLSTATEs after which a prepared statement is prepared again, under a new
# name: "cached plan must not change result type" (a migration changed a
# column it returns) and "prepared statement does not exist".
_PREPARE_AGAIN = {"0A000", "26000"}


def _execute(connection, cursor, statement: _Statement, params: list) -> None:
    """Run ``statement``: on PostgreSQL as ``EXECUTE`` of its prepared form
    (prepared the first time on this connection), elsewhere as SQL."""
    name = _server_name(connection, cursor, statement)
    if name is None:
        cursor.execute(statement.sql, params)
        return
    try:
        cursor.execute(f"EXECUTE {name}{statement.args}", params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _PREPARE_AGAIN:
            raise
        # Prepared again on its next use. In autocommit nothing is lost and
        # the statement is sent whole now; in a transaction, which the error
        # has aborted, the error goes up as the ORM's own would.
        connection.__dict__["_oms_prepared"][1].pop(statement.name, None)
        if not connection.get_autocommit():
            raise
        cursor.execute(statement.sql, params)


def _server_name(connection, cursor, statement: _Statement) -> str | None:
    """The name ``statement`` is prepared under on this PostgreSQL connection,
    preparing it the first time; None where it is sent as SQL. Prepared
    statements outlive a rolled-back transaction and end with the session; a
    new connection starts with none."""
    if connection.vendor != "postgresql" or statement.unpreparable:
        return None
    if not getattr(settings, "OMS_PG_PREPARE", True):
        return None
    raw = connection.connection
    state = connection.__dict__.get("_oms_prepared")
    if state is None or state[0] is not raw:
        state = connection.__dict__["_oms_prepared"] = (raw, {}, {})
    names: dict[str, str] = state[1]
    name = names.get(statement.name)
    if name is not None:
        return name
    times = state[2][statement.name] = state[2].get(statement.name, 0) + 1
    name = statement.name if times == 1 else f"{statement.name[:56]}_r{times}"
    # as the ORM would before a query: refuse to run in a broken transaction
    connection.validate_no_broken_transaction()
    driver = cursor.cursor  # the driver's cursor: query capture does not see it
    in_transaction = not connection.get_autocommit()
    with connection.wrap_database_errors:
        try:
            if in_transaction:
                driver.execute(
                    f"SAVEPOINT {name}; PREPARE {name} AS {statement.body}; RELEASE SAVEPOINT {name}"
                )
            else:
                driver.execute(f"PREPARE {name} AS {statement.body}")
        except connection.Database.DatabaseError as exc:
            # Only a statement the server will not prepare (SQLSTATE class
            # 42: a parameter whose type it cannot tell...) is sent as SQL
            # from now on; a lost connection or a timeout goes up, as the
            # ORM's own error would.
            if not str(getattr(exc, "pgcode", "") or "").startswith("42"):
                raise
            if in_transaction:
                driver.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
            statement.unpreparable = True
            return None
    names[statement.name] = name
    return name


def _convert(rows, converters, connection) -> list:
    out = []
    for row in rows:
        row = list(row)
        for pos, (funcs, expression) in converters:
            value = row[pos]
            for func in funcs:
                value = func(value, expression, connection)
            row[pos] = value
        out.append(row)
    return out


def _models(c: _Compiled, alias: str, rows) -> list:
    out = []
    model, init_list, model_slice = c.model, c.init_list, c.model_slice
    for row in rows:
        obj = _new(model, alias, init_list, row[model_slice])
        for populator in c.populators:
            _populate(populator, row, obj, alias)
        for attr, pos in c.annotation_col_map.items():
            setattr(obj, attr, row[pos])
        out.append(obj)
    return out


def _populate(p, row, from_obj, alias: str) -> None:
    """``django.db.models.query.RelatedPopulator.populate``, building each
    related instance with ``_new``."""
    data = p.reorder_for_init(row) if p.reorder_for_init else row[p.cols_start : p.cols_end]
    if data[p.pk_idx] is None:
        obj = None
    else:
        obj = _new(p.model_cls, alias, p.init_list, data)
        for rel in p.related_populators:
            _populate(rel, row, obj, alias)
    p.local_setter(from_obj, obj)
    if obj is not None:
        p.remote_setter(obj, from_obj)


def _new(model, alias: str, attnames: list[str], values) -> Any:
    """``model.from_db(alias, attnames, values)`` without ``Model.__init__``'s
    loop over every concrete field, for a model whose construction is only
    that: no ``__init__`` or ``from_db`` of its own (django-fsm-2's mixin
    aside, whose initial-state record is taken here too) and nothing
    listening to ``pre_init``/``post_init`` for it. The instance is the one
    ``from_db`` builds: the loaded attributes in ``__dict__`` (the rest
    deferred, loaded on access), ``_state.adding`` False, ``_state.db`` set.
    Loading a return's detail builds about ten instances per item, and their
    ``__init__`` was a fifth of the request."""
    if not _plain(model) or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model.from_db(alias, attnames, values)
    obj = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    d = obj.__dict__
    d["_state"] = state
    d.update(zip(attnames, values, strict=True))
    if isinstance(obj, FsmConcurrentMixin):
        obj._update_initial_state()
    return obj


def _plain(model) -> bool:
    plain = model.__dict__.get("_oms_plain_init")
    if plain is None:
        plain = True
        for klass in model.__mro__:
            if klass is Model:
                break
            if klass in _FSM_MIXINS:
                continue
            if "__init__" in klass.__dict__ or "from_db" in klass.__dict__:
                plain = False
                break
        model._oms_plain_init = plain
    return plain


# --- raw statements --------------------------------------------------------------

_raw: dict[tuple[str, str], _Statement] = {}


def run_sql(
    sql: str, params: list, *, what: str, using: str = "default", fetch: bool = False
) -> tuple[int, list]:
    """Run one raw statement (Django's ``%s`` placeholders) as ``@prepared``
    queries run: on PostgreSQL prepared once per connection and sent as
    ``EXECUTE``, on the module's kept cursor, inside the connection's error
    wrapping; an error marks the enclosing atomic block for rollback, as the
    ORM's writes do. Returns the rows it changed (or returned) and, with
    ``fetch``, its rows. For the hot statements written as SQL (an array of
    ids, ``UPDATE ... FROM unnest(...)``) whose planning cost the server more
    than running them. ``what`` names the statement on the server."""
    connection = connections[using]
    statement = _raw.get((using, sql))
    if statement is None:
        n = sum(1 for m in _PLACEHOLDER.finditer(sql) if m.group(1) == "s")
        statement = _raw.setdefault(
            (using, sql), _Statement(_statement_name(what, next(_names)), sql, n)
        )
    with transaction.mark_for_rollback_on_error(using), _cursor(connection) as cursor:
        _execute(connection, cursor, statement, params)
        return cursor.rowcount, (cursor.fetchall() if fetch else [])


# --- id lists as one parameter ---------------------------------------------------

# ``<column> <match>`` against a list of ids sent as one parameter, so a
# statement's text does not change with their number (it is compiled, and
# prepared, once): a PostgreSQL array, a JSON list on SQLite.
_IDS_MATCH = {
    "postgresql": "= ANY(%s::bigint[])",
    "sqlite": "IN (SELECT value FROM json_each(%s))",
}


def ids_match(connection) -> str | None:
    """The SQL after a column that matches it against ``ids_param``'s one
    parameter on this backend; None where there is none (write ``IN``)."""
    return _IDS_MATCH.get(connection.vendor)


def ids_param(connection, ids: list[int]) -> str:
    """``ids`` as ``ids_match``'s parameter: a str (``@prepared`` takes it),
    the array literal on PostgreSQL, the JSON list on SQLite."""
    ids = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps(ids)


# --- inserts ---------------------------------------------------------------------

_inserts: dict[tuple, tuple[_Statement, list]] = {}
# Up to this many rows a statement is kept (and prepared) per row count;
# more go to bulk_create, which on PostgreSQL sends one array per column.
_INSERT_CACHE_ROWS = 32


def insert_rows(objs: list) -> list:
    """``Model.objects.bulk_create(objs)`` for new objects of one model whose
    primary key the database assigns, with the statement built once per
    (model, row count) instead of by the ORM's insert compiler on every call
    (a quarter of a return creation's Python time went to compiling its six
    inserts), and on PostgreSQL prepared once per connection like ``@prepared``
    queries. Each object gets its primary key, ``_state.adding = False`` and
    ``_state.db``, as ``bulk_create`` (or ``save()``: django-fsm-2's recorded
    state is refreshed too) leaves them.

    The values are the ORM's own: each field's ``pre_save(obj, add=True)``
    (``auto_now_add``) then ``get_db_prep_save``. Anything this does not cover
    is handed to ``bulk_create`` whole: an object with a primary key already
    set, an expression or database default as a value, a model that returns
    more than its key, a backend that cannot return inserted keys."""
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if len(objs) > _INSERT_CACHE_ROWS:
        return model.objects.bulk_create(objs)
    entry = _insert_entry(model, len(objs), alias, connection)
    if entry is None or any(type(o) is not model or o.pk is not None for o in objs):
        if len(objs) == 1 and not connection.features.can_return_rows_from_bulk_insert:
            # (SQLite before 3.35) bulk_create cannot give the key back; save() can
            objs[0].save(force_insert=True, using=alias)
            return objs
        return model.objects.bulk_create(objs)
    statement, fields, passing = entry
    params = _row_params(objs, fields, passing, connection)
    if params is None:
        return model.objects.bulk_create(objs)
    # as save() and bulk_create() do: an error marks the enclosing atomic
    # block for rollback, so a caller that catches it cannot commit past it
    with transaction.mark_for_rollback_on_error(alias), _cursor(connection) as cursor:
        _execute(connection, cursor, statement, params)
        keys = cursor.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        _inserted(obj, key, alias)
    return objs


def _row_params(objs: list, fields: list, passing: list, connection) -> list | None:
    """The values of ``objs`` for ``fields``, in order, as the ORM's insert
    would send them; None if one is an expression (``bulk_create``'s)."""
    params: list = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for field, types in zip(fields, passing, strict=True):
            if types is not None:
                value = getattr(obj, field.attname)
                if value is None or type(value) in types:
                    params.append(value)  # what get_db_prep_save would give back
                    continue
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return None
            params.append(field.get_db_prep_save(value, connection))
    return params


def _inserted(obj, key, alias: str) -> None:
    """``obj`` as ``bulk_create`` leaves a row it inserted."""
    setattr(obj, type(obj)._meta.pk.attname, key)
    obj._state.adding = False
    obj._state.db = alias
    if isinstance(obj, FsmConcurrentMixin):
        obj._update_initial_state()


_pairs: dict[tuple, tuple[_Statement, list, list, list, list] | None] = {}


def insert_row_and_naming_row(obj, named, *, json_field: str) -> bool:
    """Insert the new row ``obj`` and the new row ``named``, whose JSON field
    ``json_field`` is the list ``[obj.pk]``, in one statement (PostgreSQL:
    ``WITH o AS (INSERT ... RETURNING id) INSERT ... SELECT ..., jsonb_build_array(o.id)
    FROM o``), prepared once per connection like ``insert_rows``. Both get
    their keys and are left as ``bulk_create`` leaves them. Returns False,
    writing nothing, where this does not apply (another database, a row with
    a key or an expression as a value): the caller inserts them one by one.
    A queued job naming the row it is about (an outbound message and the job
    that delivers it) costs one round trip instead of two."""
    first, second = type(obj), type(named)
    alias = router.db_for_write(first)
    connection = connections[alias]
    if (
        connection.vendor != "postgresql"
        or router.db_for_write(second) != alias
        or obj.pk is not None
        or named.pk is not None
    ):
        return False
    key = (first, second, json_field, alias)
    if key not in _pairs:
        _pairs[key] = _pair_entry(first, second, json_field, alias, connection)
    entry = _pairs[key]
    if entry is None:
        return False
    statement, fields_a, passing_a, fields_b, passing_b = entry
    params_a = _row_params([obj], fields_a, passing_a, connection)
    params_b = _row_params([named], fields_b, passing_b, connection)
    if params_a is None or params_b is None:
        return False
    with transaction.mark_for_rollback_on_error(alias), _cursor(connection) as cursor:
        _execute(connection, cursor, statement, params_a + params_b)
        ((key_b, key_a),) = cursor.fetchall()
    _inserted(obj, key_a, alias)
    setattr(named, second._meta.get_field(json_field).attname, [key_a])
    _inserted(named, key_b, alias)
    return True


def _pair_entry(first, second, json_field: str, alias: str, connection) -> tuple | None:
    entry_a = _insert_entry(first, 1, alias, connection)
    entry_b = _insert_entry(second, 1, alias, connection)
    if entry_a is None or entry_b is None:
        return None
    _statement_a, fields_a, passing_a = entry_a
    _statement_b, fields_b, passing_b = entry_b
    target = second._meta.get_field(json_field)
    if target not in fields_b:
        return None
    qn = connection.ops.quote_name
    table_a, table_b = qn(first._meta.db_table), qn(second._meta.db_table)
    pk_a, pk_b = qn(first._meta.pk.column), qn(second._meta.pk.column)
    values = ", ".join(f"jsonb_build_array(o.{pk_a})" if f is target else "%s" for f in fields_b)
    sql = (
        f"WITH o AS (INSERT INTO {table_a} ({', '.join(qn(f.column) for f in fields_a)}) "  # noqa: S608 - names from model metadata, values bound
        f"VALUES ({', '.join(['%s'] * len(fields_a))}) RETURNING {table_a}.{pk_a}) "
        f"INSERT INTO {table_b} ({', '.join(qn(f.column) for f in fields_b)}) "
        f"SELECT {values} FROM o RETURNING {table_b}.{pk_b}, (SELECT {pk_a} FROM o)"
    )
    keep_b = [f is not target for f in fields_b]
    fields_b = [f for f, keep in zip(fields_b, keep_b, strict=True) if keep]
    passing_b = [t for t, keep in zip(passing_b, keep_b, strict=True) if keep]
    statement = _Statement(
        _statement_name(f"insert_{first._meta.db_table}_{second._meta.db_table}", next(_names)),
        sql,
        len(fields_a) + len(fields_b),
    )
    return statement, fields_a, passing_a, fields_b, passing_b


def _insert_entry(model, rows: int, alias: str, connection) -> tuple | None:
    key = (model, rows, alias)
    entry = _inserts.get(key)
    if entry is not None:
        return entry
    opts = model._meta
    pk = opts.pk
    if (
        not connection.features.can_return_rows_from_bulk_insert
        or not isinstance(pk, AutoFieldMixin)
        or [f.attname for f in opts.db_returning_fields] != [pk.attname]
        or opts.parents
    ):
        return None
    fields = [f for f in opts.concrete_fields if not f.generated and f is not pk]
    if any(hasattr(f, "get_placeholder") for f in fields):
        return None
    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 - names from model metadata, values bound
        f"VALUES {', '.join([row] * rows)} RETURNING {table}.{qn(pk.column)}"
    )
    statement = _Statement(
        _statement_name(f"insert_{opts.db_table}_{rows}", next(_names)), sql, len(fields) * rows
    )
    passing = [_passing_types(f, connection) for f in fields]
    entry = _inserts[key] = (statement, fields, passing)
    return entry


# Each field class whose pre_save() and get_db_prep_save() give a value of
# these exact types back unchanged (on a backend whose operations do not adapt
# integers): CharField.to_python returns a str as it is, IntegerField's
# int() an int, BooleanField's a bool, and their get_db_prep_value adds
# nothing. A subclass counts only if it overrides none of those methods.
_PASSING = (
    (models.CharField, (str,)),
    (models.TextField, (str,)),
    (models.BooleanField, (bool,)),
    (models.IntegerField, (int,)),
)
_VALUE_METHODS = (
    "pre_save",
    "get_db_prep_save",
    "get_db_prep_value",
    "get_prep_value",
    "to_python",
)


def _same_methods(field, base) -> bool:
    return all(getattr(type(field), m) is getattr(base, m) for m in _VALUE_METHODS)


def _passing_types(field, connection) -> tuple | None:
    """The exact types (with None) whose value ``insert_rows`` sends as it is
    for ``field``, skipping ``pre_save``/``get_db_prep_save`` (a twentieth of
    a return's creation, most of it turning str into str); None: every value
    goes the whole way. A foreign key to an integer key passes ints."""
    ops = type(connection.ops)
    ints_plain = (
        ops.adapt_integerfield_value is BaseDatabaseOperations.adapt_integerfield_value
        and ops.validate_autopk_value is BaseDatabaseOperations.validate_autopk_value
    )
    if isinstance(field, models.ForeignKey):
        target = field.target_field
        if (
            ints_plain
            and type(field).get_db_prep_save is models.ForeignKey.get_db_prep_save
            and type(field).pre_save is models.Field.pre_save
            and isinstance(target, AutoFieldMixin)
            and isinstance(target, models.IntegerField)
            and type(target).get_db_prep_save is models.Field.get_db_prep_save
            and type(target).get_db_prep_value is AutoFieldMixin.get_db_prep_value
            and type(target).get_prep_value is models.IntegerField.get_prep_value
        ):
            return (int,)
        return None
    for base, types in _PASSING:
        if isinstance(field, base) and _same_methods(field, base):
            if base is models.IntegerField and not ints_plain:
                return None
            return types
    return None


# --- updates ---------------------------------------------------------------------

_updates: dict[tuple, tuple[str, list] | None] = {}


def update_rows(objs: list, fields: list[str]) -> int:
    """``Model.objects.bulk_update(objs, fields)`` for saved objects of one
    model, as one statement whose text does not change with their number:
    on PostgreSQL ``UPDATE ... FROM unnest(<one array per column>)``, on
    SQLite ``UPDATE ... FROM json_each(<the rows as JSON>)``; run as
    ``run_sql`` runs (prepared once per connection, an error marks the
    enclosing atomic block for rollback). ``bulk_update`` writes one
    ``CASE WHEN pk = ... THEN ...`` per field and row, and compiling it was a
    sixth of a QC result's Python time. As ``bulk_update``, it sends each
    field's value as the object holds it (no ``pre_save``) and returns the
    rows matched. Only for fields whose values pass as they are (text,
    booleans, integers, integer foreign keys: ``insert_rows``' rule); other
    fields, and an expression as a value, go to ``bulk_update`` itself."""
    if not objs:
        return 0
    model = type(objs[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    key = (model, tuple(fields), alias)
    if key not in _updates:
        _updates[key] = _update_entry(model, fields, connection)
    entry = _updates[key]
    if entry is None or any(type(o) is not model or o.pk is None for o in objs):
        return model.objects.bulk_update(objs, fields)
    sql, columns = entry
    rows = []
    for obj in objs:
        row = [obj.pk]
        for field, types in columns:
            value = getattr(obj, field.attname)
            if value is not None and type(value) not in types:
                if hasattr(value, "resolve_expression"):
                    return model.objects.bulk_update(objs, fields)
                value = field.get_db_prep_save(value, connection)  # a str enum's member
            row.append(value)
        rows.append(row)
    if connection.vendor == "postgresql":
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        params = [json.dumps(rows)]
    changed, _rows = run_sql(sql, params, what=f"update_{model._meta.db_table}", using=alias)
    return changed


def _update_entry(model, fields: list[str], connection) -> tuple[str, list] | None:
    opts = model._meta
    pk = opts.pk
    targets = [opts.get_field(name) for name in fields]
    if (
        not isinstance(pk, AutoFieldMixin)
        or not isinstance(pk, models.IntegerField)
        or any(not f.concrete or f.primary_key or f.generated for f in targets)
    ):
        return None
    columns = [(f, _passing_types(f, connection)) for f in targets]
    if any(types is None for _f, types in columns):
        return None
    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    names = [qn(pk.column), *(qn(f.column) for f in targets)]
    assign = ", ".join(f"{n} = v.{n}" for n in names[1:])
    where = f"{table}.{names[0]} = v.{names[0]}"
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in (pk, *targets))
        source = f"unnest({arrays}) AS v({', '.join(names)})"
    elif connection.vendor == "sqlite" and Database.sqlite_version_info >= (3, 33):
        picks = ", ".join(f"json_extract(value, '$[{i}]') AS {n}" for i, n in enumerate(names))
        source = f"(SELECT {picks} FROM json_each(%s)) AS v"  # noqa: S608 - names from model metadata
    else:
        return None
    sql = f"UPDATE {table} SET {assign} FROM {source} WHERE {where}"  # noqa: S608 - names from model metadata, values bound
    return sql, columns
