"""Stock leaves quarantine (and liquidation) only through a disposition, with
a reason, by a role allowed to make it; free-form adjustments cannot do it,
alone or in pairs."""

from decimal import Decimal

import pytest

from inventory.models import StockBalance, StockMovement
from inventory.services import sku_upsert, stock_adjust, stock_disposition
from inventory.states import Bucket
from oms.errors import ApplicationError

pytestmark = pytest.mark.django_db

ADJUST = "/api/v1/stock/adjustments/"
DISPOSE = "/api/v1/stock/dispositions/"


def balances(sku) -> dict[str, int]:
    return {b.bucket: b.quantity for b in StockBalance.objects.filter(sku=sku) if b.quantity != 0}


@pytest.fixture
def quarantined(warehouse_location):
    """A SKU with 2 sellable units and 1 quarantined unit at wh-main."""
    sku, _ = sku_upsert(code="Q-1", product="q", name="Q", price=Decimal("100.00"))
    stock_adjust(sku=sku, location=warehouse_location, bucket="sellable", quantity=2, reason="po")
    stock_adjust(
        sku=sku, location=warehouse_location, bucket="quarantine", quantity=1, reason="found"
    )
    return sku


def _body(bucket, quantity, **extra):
    return {
        "sku": "Q-1",
        "location": "wh-main",
        "bucket": bucket,
        "quantity": quantity,
        "reason": "count",
    } | extra


def test_two_adjustments_cannot_move_a_quarantined_unit_to_sale(quarantined, ops_api):
    # when quarantine -1 then sellable +1 are posted as free-form adjustments
    first = ops_api.post(ADJUST, _body("quarantine", -1), format="json")
    # then the decrease of quarantine is refused and points at dispositions
    assert first.status_code == 400, first.json()
    assert first.json()["code"] == "disposition_required"
    assert first.json()["extra"]["field"] == "bucket"
    ops_api.post(ADJUST, _body("sellable", 1), format="json")
    # and the unit is still quarantined, whatever the second adjustment did
    assert balances(quarantined)["quarantine"] == 1


@pytest.mark.parametrize("bucket", ["liquidation", "reserved", "in_transit", "pending_inspection"])
def test_adjustments_cannot_empty_guarded_buckets(quarantined, warehouse_location, bucket):
    with pytest.raises(ApplicationError) as exc:
        stock_adjust(
            sku=quarantined, location=warehouse_location, bucket=bucket, quantity=-1, reason="x"
        )
    assert exc.value.code in {"disposition_required", "bucket_not_adjustable"}


@pytest.mark.parametrize("bucket", ["reserved", "in_transit", "pending_inspection"])
def test_adjustments_cannot_fill_unit_state_buckets(quarantined, warehouse_location, bucket):
    """A unit pending inspection is never sellable before QC: an adjustment may
    not conjure stock into the buckets that mirror unit states either."""
    with pytest.raises(ApplicationError) as exc:
        stock_adjust(
            sku=quarantined, location=warehouse_location, bucket=bucket, quantity=1, reason="x"
        )
    assert exc.value.code == "bucket_not_adjustable"


def test_a_disposition_takes_stock_out_of_quarantine_with_reason_and_actor(quarantined, ops_api):
    # when ops returns the quarantined unit to its vendor
    r = ops_api.post(
        DISPOSE,
        _body("quarantine", 1, disposition="return_to_vendor", reason="RTV batch 7"),
        format="json",
    )
    # then it left stock, and the ledger says how, why and who
    assert r.status_code == 201, r.json()
    assert balances(quarantined) == {"sellable": 2}
    row = StockMovement.objects.filter(sku=quarantined).latest("pk")
    assert (row.bucket, row.delta, row.reason) == ("quarantine", -1, "disposition_return_to_vendor")
    assert "RTV batch 7" in row.note
    assert "(ops)" in row.note


def test_liquidation_then_sold_off(quarantined, warehouse_location):
    stock_disposition(
        sku=quarantined,
        location=warehouse_location,
        bucket=Bucket.QUARANTINE,
        disposition="liquidate",
        quantity=1,
        reason="lot 3",
        actor_label="tests",
    )
    assert balances(quarantined) == {"sellable": 2, "liquidation": 1}
    stock_disposition(
        sku=quarantined,
        location=warehouse_location,
        bucket=Bucket.LIQUIDATION,
        disposition="sold_off",
        quantity=1,
        reason="lot 3 sold",
        actor_label="tests",
    )
    assert balances(quarantined) == {"sellable": 2}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"bucket": "sellable", "disposition": "dispose"}, "invalid_bucket"),
        ({"disposition": "sold_off"}, "invalid_disposition"),
        ({"disposition": "restock"}, "invalid_disposition"),
        ({"reason": "  "}, "invalid_reason"),
        ({"quantity": 0}, "invalid_quantity"),
    ],
)
def test_bad_dispositions_are_refused(quarantined, warehouse_location, kwargs, code):
    args = {"bucket": "quarantine", "disposition": "dispose", "quantity": 1, "reason": "x"}
    with pytest.raises(ApplicationError) as exc:
        stock_disposition(
            sku=quarantined, location=warehouse_location, actor_label="t", **(args | kwargs)
        )
    assert exc.value.code == code
    assert balances(quarantined) == {"sellable": 2, "quarantine": 1}


def test_more_than_is_quarantined_is_a_conflict(quarantined, ops_api):
    r = ops_api.post(DISPOSE, _body("quarantine", 2, disposition="dispose"), format="json")
    assert r.status_code == 409
    assert balances(quarantined)["quarantine"] == 1


@pytest.mark.parametrize("role", ["warehouse", "agent", "supervisor", "storefront", "finance"])
def test_only_a_role_allowed_to_dispose_may(quarantined, api_client_for, role):
    r = api_client_for(role).post(
        DISPOSE, _body("quarantine", 1, disposition="dispose"), format="json"
    )
    assert r.status_code == 403
    assert balances(quarantined)["quarantine"] == 1
