"""The reads every change of a return starts with (``returns.services.common``):
the locked return, and its items each way a change reads them, compiled once
(``oms.prepared``) and giving what the querysets they replace gave."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from oms.errors import NotFound
from quality.selectors import QUALITY_RELATED, quality_annotations
from returns.models import Return, ReturnItem
from returns.services import return_get_for_update, return_items, return_lock
from tests.factories.returns import ReturnFactory

pytestmark = pytest.mark.django_db


def test_the_locked_return_comes_with_what_changes_read_and_without_the_raw_order():
    ret = ReturnFactory(units=2)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            locked = return_get_for_update(ret.rma)
            by_id = return_lock(ret.pk)
            # the order (its channel), the policy and the location come with it
            for r in (locked, by_id):
                assert (r.pk, r.order.number, r.policy.version) == (
                    ret.pk,
                    ret.order.number,
                    ret.policy.version,
                )
                assert r.order.channel_id == ret.order.channel_id
                _ = r.order.channel
            _ = locked.location
        assert len(ctx.captured_queries) == 3  # order locked, return, return by id
        assert "raw" in locked.order.get_deferred_fields()
        assert locked.order.raw == ret.order.raw  # loaded when asked for
        if connection.features.has_select_for_update:
            assert all("FOR UPDATE" in q["sql"] for q in ctx.captured_queries) or all(
                q["sql"].startswith("EXECUTE") for q in ctx.captured_queries
            )


def test_an_unknown_return_is_not_found():
    with transaction.atomic():
        with pytest.raises(NotFound, match="RMA-NOPE"):
            return_get_for_update("RMA-NOPE")
        with pytest.raises(Return.DoesNotExist):
            return_lock(987_654_321)


@pytest.mark.parametrize("lock_units", [False, True])
def test_items_each_way_read_equal_the_querysets(lock_units):
    ret = ReturnFactory(units=3, received=True)
    expected = list(
        ReturnItem.objects.filter(return_request=ret)
        .select_related("unit__sku", "reason", "exchange_sku", *QUALITY_RELATED)
        .annotate(**quality_annotations())
        .order_by("pk")
    )
    with transaction.atomic():
        for _ in range(2):  # compiled once, the same the second time
            items = return_items(
                ret,
                lock_units=lock_units,
                related=("unit__sku", *QUALITY_RELATED),
                annotate=quality_annotations,
            )
            with CaptureQueriesContext(connection) as ctx:
                assert [i.pk for i in items] == [i.pk for i in expected]
                for mine, theirs in zip(items, expected, strict=True):
                    assert mine.unit.state == theirs.unit.state
                    assert mine.unit.sku.code == theirs.unit.sku.code
                    assert mine.reason.code == theirs.reason.code
                    assert mine.quality_photos == theirs.quality_photos == 0
                    assert getattr(mine, "assessment", None) is None
            assert ctx.captured_queries == []  # all of it came with the items
        plain = return_items(ret, lock_units=lock_units)
        assert [i.pk for i in plain] == [i.pk for i in expected]
        assert not hasattr(plain[0], "quality_photos")


def test_the_item_reads_count_evidence_photos():
    """The annotation given as a function is the one used: a photo counted."""
    from quality.models import Evidence, EvidencePhoto

    ret = ReturnFactory(units=2, received=True)
    first = ret.items.order_by("pk").first()
    evidence = Evidence.objects.create(return_item=first, uploaded_by="customer")
    EvidencePhoto.objects.create(evidence=evidence, file="a.jpg", content_type="image/jpeg", size=1)
    EvidencePhoto.objects.create(evidence=evidence, file="b.jpg", content_type="image/jpeg", size=1)
    items = return_items(ret, annotate=lambda: {"photos": Count("evidence__photos")})
    assert [i.photos for i in items] == [2, 0]
    items = return_items(ret, annotate=quality_annotations)
    assert [i.quality_photos for i in items] == [2, 0]
