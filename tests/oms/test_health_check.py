"""oms.db.postgresql: the per-request health check polls the idle socket and
asks the server (SELECT 1) only when something arrived."""

from __future__ import annotations

import select
import time

import pytest
from django.db import connections
from django.db.backends.postgresql import base as django_pg

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def fresh():
    """A connection of its own to the test database, outside the test's
    transaction, closed afterwards (the ``postgres`` marker skips the module
    elsewhere, or fails it under OMS_REQUIRE_POSTGRES=1)."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


@pytest.fixture
def selects(monkeypatch):
    """Each time Django's own check (SELECT 1) runs."""
    calls = []
    original = django_pg.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(self)
        return original(self)

    monkeypatch.setattr(django_pg.DatabaseWrapper, "is_usable", counted)
    return calls


def _terminate(wrapper) -> None:
    pid = wrapper.connection.info.backend_pid
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # the termination reaches the idle socket
    deadline = time.monotonic() + 5
    while not select.select([wrapper.connection], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the server's termination never arrived"


def test_an_idle_connection_is_usable_without_a_round_trip(fresh, selects):
    # given a connection that ran a query and sits idle
    with fresh.cursor() as cursor:
        cursor.execute("SELECT 1")

    # when the request's health check runs
    usable = fresh.is_usable()

    # then it is usable, and no SELECT 1 was sent
    assert usable is True
    assert selects == []


def test_a_connection_the_server_ended_is_not_usable(fresh, selects):
    # given a connection whose backend the server terminated while it was idle
    _terminate(fresh)

    # when the health check runs
    usable = fresh.is_usable()

    # then it is not usable (Django's SELECT 1 was asked, and failed)
    assert usable is False
    assert selects == [fresh]


def test_after_the_server_ended_it_the_next_request_reconnects(fresh):
    # given a persistent connection the server terminated while it was idle
    fresh.health_check_enabled = True
    fresh.health_check_done = False
    _terminate(fresh)

    # when the next request's first query runs
    fresh.close_if_health_check_failed()
    with fresh.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        answer = cursor.fetchone()[0]

    # then it ran on a new connection
    assert answer == 42


def test_a_socket_that_cannot_be_polled_falls_back_to_select_1(fresh, selects, monkeypatch):
    # given a connection whose socket poll() refuses (select() refused
    # descriptors above 1023; poll() is used, and a refusal is not trusted)
    from oms.db.postgresql import base as oms_pg

    class Refusing:
        def register(self, fd, events):
            raise ValueError("filedescriptor out of range")

    monkeypatch.setattr(oms_pg, "_POLL", Refusing)

    # when the health check runs
    usable = fresh.is_usable()

    # then the server was asked, and the live connection kept
    assert usable is True
    assert selects == [fresh]
