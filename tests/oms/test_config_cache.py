"""oms.config_cache: the policy, reasons and SLA rules kept per process for a
few seconds, forgotten when this process changes them, never holding a change
that was rolled back."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oms import config_cache
from returns.models import ReturnPolicy, ReturnReason
from returns.services.common import policy_current
from returns.services.plan import active_reasons
from sla.models import SlaRule
from sla.selectors import sla_rules_of_policy
from sla.services.legs import sla_rules_copy

pytestmark = pytest.mark.django_db


def _reasons() -> set[str]:
    return {r.code for r in active_reasons()}


def _queries(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        value = call()
    return len(ctx.captured_queries), value


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(config_cache.time, "monotonic", lambda: now[0])
    return now


def test_a_read_is_kept_for_the_configured_seconds(settings, clock):
    # given a process that read the current policy
    settings.OMS_CONFIG_CACHE_SECONDS = 5
    first = policy_current()

    # when it is read again within the seconds, and after them
    within, again = _queries(policy_current)
    clock[0] += 5.1
    after, reread = _queries(policy_current)

    # then the first costs no query and the second reads it again
    assert (within, again.pk) == (0, first.pk)
    assert (after, reread.pk) == (1, first.pk)


def test_a_change_made_elsewhere_shows_once_the_seconds_are_over(settings, clock):
    # given a process that keeps the reasons
    settings.OMS_CONFIG_CACHE_SECONDS = 5
    assert "changed_mind" in _reasons()

    # when another process deactivates one (written as SQL here: nothing in
    # this process hears of it)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE returns_returnreason SET active = %s WHERE code = %s", [False, "changed_mind"]
        )

    # then this process still offers it within the seconds, and not after
    assert "changed_mind" in _reasons()
    clock[0] += 6
    assert "changed_mind" not in _reasons()


def test_a_change_made_here_shows_at_once(settings):
    # given a process that keeps the policy and the reasons
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    v1 = policy_current()
    assert "wrong_colour" not in _reasons()

    # when it saves a new policy version and a new reason
    v2 = ReturnPolicy.objects.create(version=v1.version + 1, window_days=9)
    ReturnReason.objects.create(code="wrong_colour", label="Wrong colour")

    # then the next reads see them
    assert policy_current().pk == v2.pk
    assert "wrong_colour" in _reasons()


def test_a_change_rolled_back_is_never_kept(settings):
    # given a process that keeps the policy
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    v1 = policy_current()

    # when a new version is saved and read inside a block that rolls back
    def save_read_and_fail() -> None:
        with transaction.atomic():
            v2 = ReturnPolicy.objects.create(version=v1.version + 1)
            assert policy_current().pk == v2.pk  # the change is seen where it was made
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        save_read_and_fail()

    # then the version before is what is read, and kept again
    assert policy_current().pk == v1.pk
    n, again = _queries(policy_current)
    assert (n, again.pk) == (0, v1.pk)


@pytest.mark.django_db(transaction=True)
def test_while_a_change_waits_for_commit_reads_skip_the_cache_and_after_it_are_kept(settings):
    # given a process that keeps the reasons
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    _reasons()

    # when a reason is saved in a transaction that commits
    with transaction.atomic():
        ReturnReason.objects.create(code="arrived_late", label="Arrived late")
        pending, seen = _queries(_reasons)
        pending_again, _ = _queries(_reasons)

    # then reads before the commit went to the database each time, and after
    # it the reasons are read once and kept
    assert "arrived_late" in seen
    assert (pending, pending_again) == (1, 1)
    first, _ = _queries(_reasons)
    second, after = _queries(_reasons)
    assert (first, second) == (1, 0)
    assert "arrived_late" in after


def test_rules_copied_in_bulk_are_seen_at_once(settings):
    # given a policy whose (empty) rules this process keeps, and another
    # version with a rule
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    v1 = policy_current()
    assert sla_rules_of_policy(v1.pk) == []
    v2 = ReturnPolicy.objects.create(version=v1.version + 1)
    SlaRule.objects.create(policy=v2, leg="pickup", hours=24)

    # when the rules are copied with bulk_create (which sends no signal)
    assert sla_rules_copy(source_policy_id=v2.pk, target_policy_id=v1.pk) == 1

    # then the copied rule is read
    assert [r.hours for r in sla_rules_of_policy(v1.pk)] == [24]


def test_a_bulk_update_is_seen_at_once(settings):
    # given a process that keeps the reasons
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    assert "changed_mind" in _reasons()

    # when this process deactivates one with a queryset update
    ReturnReason.objects.filter(code="changed_mind").update(active=False)

    # then the next read no longer offers it
    assert "changed_mind" not in _reasons()


def test_what_was_read_before_a_change_committed_elsewhere_is_not_kept(settings):
    # given a read of the policy during which another thread of this process
    # commits a change (it empties the cache while the read is loading)
    settings.OMS_CONFIG_CACHE_SECONDS = 3600
    v1 = policy_current()
    config_cache.config_clear()

    def load_while_a_change_commits():
        rows = [v1]
        config_cache._forget()  # the other thread's commit hook
        return rows

    # when the read finishes
    config_cache.config_cached(("policy",), load_while_a_change_commits)

    # then what it read is not kept: the next read goes to the database
    n, _ = _queries(policy_current)
    assert n == 1


def test_zero_seconds_reads_every_time(settings):
    settings.OMS_CONFIG_CACHE_SECONDS = 0
    policy_current()
    n, _ = _queries(policy_current)
    assert n == 1
