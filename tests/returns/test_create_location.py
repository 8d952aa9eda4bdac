"""Where a created return goes and where its exchange is reserved: the order's
warehouse, else the default location, else the first warehouse
(``inventory.services.location_default``), read with the order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Location, StockBalance
from returns.models import Return, ReturnItem
from tests.returns.helpers import create, unit_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(make_sku, make_order, deliver_order):
    make_sku("CL-TEE-M", Decimal("500.00"), product="cltee", stock=5)
    make_sku("CL-TEE-L", Decimal("500.00"), product="cltee", stock=5)
    order = make_order([("CL-TEE-M", 2)])
    deliver_order(order)
    return order


def _exchange(order) -> dict:
    units = unit_ids(order)
    return {
        "order": order.number,
        "items": [
            {
                "unit": units[0],
                "reason": "size_too_small",
                "resolution": "exchange",
                "exchange_sku": "CL-TEE-L",
            },
            {"unit": units[1], "reason": "changed_mind", "resolution": "refund"},
        ],
    }


def _reserved(code: str) -> int:
    row = StockBalance.objects.filter(
        sku__code="CL-TEE-L", location__code=code, bucket="reserved"
    ).first()
    return row.quantity if row else 0


def test_without_a_default_location_the_first_warehouse_takes_the_return(delivered, storefront_api):
    # given no default location, and a second warehouse with the variant in stock
    second = Location.objects.create(code="wh-zz", name="Second", kind="warehouse")
    first = Location.objects.filter(kind="warehouse").order_by("pk").first()
    Location.objects.update(is_default=False)
    from inventory.models import SKU
    from inventory.services import stock_adjust

    for where in {first, second}:
        stock_adjust(
            sku=SKU.objects.get(code="CL-TEE-L"),
            location=where,
            bucket="sellable",
            quantity=3,
            reason="count",
        )

    # when an exchange and a refund are created
    response = create(storefront_api, _exchange(delivered))

    # then the return and the reservation are at the first warehouse by id
    assert response.status_code == 201, response.json()
    ret = Return.objects.get(rma=response.json()["rma"])
    assert ret.location_id == first.pk
    item = ReturnItem.objects.get(return_request=ret, resolution="exchange")
    assert item.reserved_at_id == first.pk
    assert _reserved(first.code) == 1
    assert _reserved(second.code) == 0


def test_the_order_warehouse_takes_the_return_before_the_default(delivered, storefront_api):
    # given an order shipped from a store that is not the default location
    from inventory.models import SKU
    from inventory.services import stock_adjust

    store = Location.objects.create(code="st-1", name="Store", kind="store")
    delivered.ship_from = store
    delivered.save(update_fields=["ship_from"])
    stock_adjust(
        sku=SKU.objects.get(code="CL-TEE-L"),
        location=store,
        bucket="sellable",
        quantity=1,
        reason="count",
    )

    # when an exchange and a refund are created
    response = create(storefront_api, _exchange(delivered))

    # then both the return and the reservation are at the store
    assert response.status_code == 201, response.json()
    ret = Return.objects.get(rma=response.json()["rma"])
    assert ret.location_id == store.pk
    assert ReturnItem.objects.get(return_request=ret, resolution="exchange").reserved_at == store
    assert _reserved("st-1") == 1
    assert _reserved("wh-main") == 0


def test_an_exchange_out_of_stock_creates_nothing(delivered, storefront_api):
    # given the variant has no stock left at the default warehouse
    from inventory.models import SKU
    from inventory.services import stock_adjust

    stock_adjust(
        sku=SKU.objects.get(code="CL-TEE-L"),
        location=Location.objects.get(code="wh-main"),
        bucket="sellable",
        quantity=-5,
        reason="count",
    )

    # when an exchange is asked for
    response = create(storefront_api, _exchange(delivered))

    # then it is refused with the field named, and nothing was written
    assert response.status_code == 409, response.json()
    assert response.json()["extra"]["field"] == "items"
    assert not Return.objects.filter(order=delivered).exists()
    assert _reserved("wh-main") == 0
