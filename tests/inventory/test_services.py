"""Stock ledger: every change is a movement, balances equal the ledger and
never go negative."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import Location, StockBalance, StockMovement
from inventory.selectors import stock_available, stock_ledger_mismatches
from inventory.services import (
    InsufficientStock,
    Move,
    location_upsert,
    sku_upsert,
    stock_adjust,
    stock_move,
    stock_move_many,
)
from inventory.states import Bucket
from oms.errors import ApplicationError

pytestmark = pytest.mark.django_db


def balances(sku):
    return dict(StockBalance.objects.filter(sku=sku).values_list("bucket", "quantity"))


@pytest.fixture
def sku(make_sku):
    return make_sku("JEANS-32", Decimal("2499.00"), stock=3)


def test_a_move_writes_two_ledger_rows_and_updates_both_balances(sku, warehouse_location):
    # when one unit is reserved
    transfer = stock_move(
        sku=sku,
        location=warehouse_location,
        quantity=1,
        from_bucket=Bucket.SELLABLE,
        to_bucket=Bucket.RESERVED,
        reason="order_reserve",
        reference="OD-1",
    )
    # then
    assert balances(sku) == {"sellable": 2, "reserved": 1}
    rows = StockMovement.objects.filter(transfer_id=transfer)
    assert sorted(rows.values_list("bucket", "delta", "reference")) == [
        ("reserved", 1, "OD-1"),
        ("sellable", -1, "OD-1"),
    ]
    assert stock_available(sku_id=sku.pk) == 2
    assert stock_ledger_mismatches() == []


def test_moving_more_than_there_is_raises_and_writes_nothing(sku, warehouse_location):
    rows = StockMovement.objects.count()
    with pytest.raises(InsufficientStock) as exc:
        stock_move(
            sku=sku,
            location=warehouse_location,
            quantity=4,
            from_bucket=Bucket.SELLABLE,
            to_bucket=Bucket.RESERVED,
            reason="order_reserve",
        )
    assert exc.value.status_code == 409
    assert exc.value.extra["needed"] == 4
    assert balances(sku) == {"sellable": 3}
    assert StockMovement.objects.count() == rows


def test_many_moves_are_all_or_nothing(sku, make_sku, warehouse_location):
    other = make_sku("BELT-1", Decimal("10.00"), stock=1)
    with pytest.raises(InsufficientStock):
        stock_move_many(
            [
                Move(sku.pk, warehouse_location.pk, 1, Bucket.SELLABLE, Bucket.RESERVED),
                Move(other.pk, warehouse_location.pk, 2, Bucket.SELLABLE, Bucket.RESERVED),
            ],
            reason="order_reserve",
        )
    assert balances(sku) == {"sellable": 3}
    assert balances(other) == {"sellable": 1}


def test_quarantined_stock_never_becomes_sellable(sku, warehouse_location):
    stock_move(
        sku=sku,
        location=warehouse_location,
        quantity=1,
        from_bucket=Bucket.SELLABLE,
        to_bucket=Bucket.QUARANTINE,
        reason="qc_fail",
    )
    for target in (Bucket.SELLABLE, Bucket.RESERVED, Bucket.REFURBISH):
        with pytest.raises(ApplicationError) as exc:
            stock_move(
                sku=sku,
                location=warehouse_location,
                quantity=1,
                from_bucket=Bucket.QUARANTINE,
                to_bucket=target,
                reason="oops",
            )
        assert exc.value.code == "never_sellable"
    assert balances(sku) == {"sellable": 2, "quarantine": 1}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"quantity": 0}, "invalid_quantity"),
        ({"bucket": "shelf"}, "invalid_bucket"),
        ({"reason": "  "}, "invalid_reason"),
    ],
)
def test_bad_adjustments_are_refused(sku, warehouse_location, kwargs, code):
    args = {"bucket": Bucket.SELLABLE, "quantity": 1, "reason": "count"} | kwargs
    with pytest.raises(ApplicationError) as exc:
        stock_adjust(sku=sku, location=warehouse_location, **args)
    assert exc.value.code == code


def test_bad_moves_are_refused(sku, warehouse_location):
    for kwargs in (
        {"quantity": -1, "from_bucket": Bucket.SELLABLE, "to_bucket": Bucket.RESERVED},
        {"quantity": 1},
        {"quantity": 1, "from_bucket": Bucket.SELLABLE, "to_bucket": Bucket.SELLABLE},
    ):
        with pytest.raises(ApplicationError):
            stock_move(sku=sku, location=warehouse_location, reason="x", **kwargs)
    assert balances(sku) == {"sellable": 3}


def test_database_refuses_a_negative_balance(sku, warehouse_location):
    # given a balance of 3; when something writes around the service
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(sku=sku, bucket=Bucket.SELLABLE).update(quantity=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.create(
            sku=sku, location=warehouse_location, bucket=Bucket.REFURBISH, quantity=-1
        )
    # then the balance is untouched
    assert balances(sku) == {"sellable": 3}


def test_movements_are_append_only(sku):
    row = StockMovement.objects.filter(sku=sku).first()
    row.delta = 99
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        row.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(
            sku=sku,
            location=row.location,
            bucket=row.bucket,
            delta=0,
            reason="x",
            transfer_id=row.transfer_id,
        )
    assert StockMovement.objects.get(pk=row.pk).delta == 3


BUCKETS = [Bucket.SELLABLE, Bucket.RESERVED, Bucket.PENDING_INSPECTION, Bucket.REFURBISH]
moves = st.lists(
    st.tuples(
        st.sampled_from([None, *BUCKETS]),
        st.sampled_from([None, *BUCKETS]),
        st.integers(min_value=1, max_value=4),
    ).filter(lambda m: m[0] != m[1]),
    max_size=20,
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=moves)
def test_random_moves_keep_balances_equal_to_the_ledger(moves, make_sku, warehouse_location):
    with transaction.atomic():
        # given a SKU with no stock and a model of what the balances should be
        sku = make_sku("PROP-STOCK", Decimal("1.00"))
        expected = dict.fromkeys(BUCKETS, 0)
        # when random moves are applied, some of them impossible
        for source, target, qty in moves:
            try:
                stock_move(
                    sku=sku,
                    location=warehouse_location,
                    quantity=qty,
                    from_bucket=source,
                    to_bucket=target,
                    reason="prop",
                )
            except InsufficientStock:
                assert expected[source] < qty
                continue
            if source:
                expected[source] -= qty
            if target:
                expected[target] += qty
        # then balances match the model, none is negative, and the ledger agrees
        actual = balances(sku)
        assert {b: actual.get(b, 0) for b in BUCKETS} == expected
        assert min(expected.values()) >= 0
        assert stock_ledger_mismatches() == []
        transaction.set_rollback(True)


def test_sku_upsert_creates_then_updates(db):
    sku, created = sku_upsert(
        code="POLO-S", product="polo", name="Polo S", price=Decimal("799.00"), category="tops"
    )
    assert created
    again, created_again = sku_upsert(
        code="POLO-S", product="polo", name="Polo S", price=Decimal("699.00")
    )
    assert not created_again
    assert again.pk == sku.pk
    assert again.price == Decimal("699.00")
    assert again.product.category == "tops"


def test_only_one_default_location(db):
    first, _ = location_upsert(code="wh-a", name="A", kind="warehouse", is_default=True)
    second, _ = location_upsert(code="wh-b", name="B", kind="warehouse", is_default=True)
    assert list(Location.objects.filter(is_default=True)) == [second]
    assert Location.objects.get(pk=first.pk).is_default is False


@pytest.mark.django_db
def test_a_transfer_split_into_moves_cannot_launder_quarantine_into_sellable(warehouse_location):
    from inventory.models import SKU, StockBalance
    from inventory.services import Move, sku_upsert, stock_adjust, stock_move_many
    from oms.errors import ApplicationError

    # given one quarantined unit
    sku, _ = sku_upsert(code="Q-1", product="q", name="Q", price=Decimal("10.00"))
    stock_adjust(
        sku=sku, location=warehouse_location, bucket="quarantine", quantity=1, reason="qc reject"
    )
    # when a caller splits "quarantine -> sellable" into an exit and an entry
    with pytest.raises(ApplicationError) as exc:
        stock_move_many(
            [
                Move(sku.pk, warehouse_location.pk, 1, "quarantine", None),
                Move(sku.pk, warehouse_location.pk, 1, None, "sellable"),
            ],
            reason="sneaky",
        )
    # then it is refused and nothing moved
    assert exc.value.code == "never_sellable"
    assert StockBalance.objects.get(sku=sku, bucket="quarantine").quantity == 1
    assert not StockBalance.objects.filter(sku=sku, bucket="sellable", quantity__gt=0).exists()
    assert SKU.objects.filter(pk=sku.pk).exists()


def test_a_key_both_given_and_taken_is_checked_before_it_is_given(sku, warehouse_location):
    # given 3 sellable and nothing reserved
    # when one move list reserves 2 and un-reserves 1 (the reserved balance
    # would end at +1, but it cannot give 1 before it has received 2)
    with pytest.raises(InsufficientStock) as exc:
        stock_move_many(
            [
                Move(sku.pk, warehouse_location.pk, 2, Bucket.SELLABLE, Bucket.RESERVED),
                Move(sku.pk, warehouse_location.pk, 1, Bucket.RESERVED, Bucket.SELLABLE),
            ],
            reason="order_reserve",
        )
    # then it is refused, naming the reserved bucket, and nothing changed
    assert exc.value.extra["bucket"] == Bucket.RESERVED
    assert balances(sku) == {"sellable": 3}


def test_a_reservation_and_a_release_of_other_skus_apply_together(
    sku, make_sku, warehouse_location
):
    from tests.inventory.helpers import reserve

    other = make_sku("BELT-2", Decimal("10.00"), stock=4)
    reserve(other, warehouse_location, 2)
    stock_move_many(
        [
            Move(sku.pk, warehouse_location.pk, 3, Bucket.SELLABLE, Bucket.RESERVED),
            Move(other.pk, warehouse_location.pk, 2, Bucket.RESERVED, Bucket.SELLABLE),
        ],
        reason="swap",
    )
    assert balances(sku) == {"sellable": 0, "reserved": 3}
    assert balances(other) == {"sellable": 4, "reserved": 0}
