"""Bad input gets a 4xx in the one error shape ``{"code", "message", "extra"}``,
never a 500, and every error under ``/api/`` (404, 413, 500 included) is JSON."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import SKU, Location, StockMovement
from oms.models import IdempotencyRecord
from orders.models import Order
from returns.models import Return

pytestmark = pytest.mark.django_db

SHAPE = {"code", "message", "extra"}

NUL_URLS = [
    "/api/v1/orders/?email=%00",
    "/api/v1/refunds/?order=%00",
    "/api/v1/returns/?state=%00",
    "/api/v1/sla/legs/?leg=%00",
    "/api/v1/stock/?sku=%00",
    "/api/v1/orders/%00/",
    "/api/v1/returns/RMA%00X/",
    "/api/v1/dead-letters/?channel=%00",
]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == SHAPE, body
    if code is not None:
        assert body["code"] == code, body
    return body


# --- NUL characters -------------------------------------------------------------------


def _nul_checks(api_client_for):
    for url in NUL_URLS:
        for role in ("supervisor", "ops"):
            r = api_client_for(role).get(url)
            body = assert_error(r, 400, "invalid")
            assert "NUL" in body["message"], url


@pytest.mark.postgres
def test_a_nul_in_query_or_path_is_400_on_postgresql(api_client_for):
    # PostgreSQL refuses NUL in text: each of these was a 500.
    _nul_checks(api_client_for)


def test_a_nul_in_query_or_path_is_400_on_any_database(api_client_for):
    _nul_checks(api_client_for)


def test_a_nul_in_a_header_is_400(storefront_api):
    r = storefront_api.get("/api/v1/orders/", HTTP_X_NOTE="a\x00b")
    assert_error(r, 400, "invalid")


def test_a_nul_in_a_portal_query_is_400_html(client):
    r = client.get("/returns/?order=%00")
    assert r.status_code == 400
    assert r["Content-Type"].startswith("text/html")


@pytest.mark.postgres
def test_a_nul_inside_a_json_body_is_400_on_postgresql(ops_api, make_sku, channel):
    # given an otherwise valid order whose body carries a NUL in an extra key
    make_sku("NUL-1", Decimal("100.00"), stock=5)
    body = _order_body([{"sku": "NUL-1", "quantity": 1, "unit_price": "100.00"}])
    body["note"] = "a\u0000b"

    # when / then: refused, not stored in a jsonb column that cannot hold it
    r = ops_api.post("/api/v1/orders/", body, format="json")
    body = assert_error(r, 400, "parse_error")
    assert "NUL" in body["message"]
    assert not Order.objects.exists()


# --- JSON nested 100,000 deep -----------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


@pytest.mark.parametrize("payload", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("ops", "/api/v1/orders/"),
        ("storefront", "/api/v1/returns/"),
        ("storefront", "/api/v1/returns/quote/"),
        ("warehouse", "/api/v1/returns/RMA-NONE/inspections/"),
        ("warehouse", "/api/v1/stock/adjustments/"),
        ("ops", "/api/v1/channels/web/"),
    ],
)
def test_json_nested_100000_deep_is_400(api_client_for, role, url, payload):
    api = api_client_for(role)
    method = api.put if "/channels/" in url else api.post
    r = method(url, data=payload, content_type="application/json")
    body = assert_error(r, 400, "parse_error")
    assert "nested deeper" in body["message"]


def test_json_a_little_too_deep_is_400_too(ops_api, settings):
    settings.OMS_MAX_JSON_DEPTH = 5
    r = ops_api.post(
        "/api/v1/orders/", data=json.dumps({"a": [[[[[1]]]]]}), content_type="application/json"
    )
    assert_error(r, 400, "parse_error")


# --- a JSON null body ------------------------------------------------------------------


@pytest.mark.parametrize("payload", ["null", "[]", "5", '"x"'])
def test_a_json_null_or_non_object_body_on_inspections_is_400(warehouse_api, payload):
    r = warehouse_api.post(
        "/api/v1/returns/RMA-NONE/inspections/", data=payload, content_type="application/json"
    )
    body = assert_error(r, 400, "invalid")
    assert "Expected a JSON object" in body["message"]


# --- Idempotency-Key ---------------------------------------------------------------------


@pytest.fixture
def delivered(make_sku, make_order, deliver_order):
    make_sku("TEE-B", Decimal("999.00"), stock=10)
    order = make_order([("TEE-B", 2)])
    deliver_order(order)
    return order


def _return_body(order) -> dict:
    unit = order.units.order_by("pk").first()
    return {
        "order": order.number,
        "items": [{"unit": unit.pk, "reason": "changed_mind", "resolution": "refund"}],
    }


def test_an_idempotency_key_over_255_characters_is_400_naming_the_header(storefront_api, delivered):
    r = storefront_api.post(
        "/api/v1/returns/", _return_body(delivered), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    body = assert_error(r, 400, "invalid")
    assert "Idempotency-Key" in body["message"]
    assert body["extra"]["header"] == "Idempotency-Key"
    assert not Return.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_an_idempotency_key_of_255_characters_works(storefront_api, delivered):
    r = storefront_api.post(
        "/api/v1/returns/", _return_body(delivered), format="json", HTTP_IDEMPOTENCY_KEY="k" * 255
    )
    assert r.status_code == 201, r.json()


# --- integers beyond their columns ---------------------------------------------------------


@pytest.mark.parametrize("quantity", [1099511627776, -1099511627776, 2**31, 10**30])
def test_a_stock_adjustment_beyond_the_column_is_400(warehouse_api, make_sku, quantity):
    make_sku("ADJ-1", Decimal("10.00"))
    before = StockMovement.objects.count()
    r = warehouse_api.post(
        "/api/v1/stock/adjustments/",
        {
            "sku": "ADJ-1",
            "location": "wh-main",
            "bucket": "sellable",
            "quantity": quantity,
            "reason": "count",
        },
        format="json",
    )
    body = assert_error(r, 400, "invalid")
    assert "quantity" in body["extra"]["fields"]
    assert StockMovement.objects.count() == before


@pytest.mark.parametrize(
    ("role", "url", "payload", "field"),
    [
        (
            "storefront",
            "/api/v1/returns/",
            {"order": "X", "items": [{"unit": 2**64, "reason": "x", "resolution": "refund"}]},
            "items[0].unit",
        ),
        (
            "warehouse",
            "/api/v1/returns/RMA-NONE/inspections/",
            {"unit": 2**64, "passed": True},
            "unit",
        ),
        (
            "warehouse",
            "/api/v1/returns/RMA-NONE/events/",
            {"type": "received", "units": [2**64]},
            "units[0]",
        ),
        ("ops", "/api/v1/orders/X/shipments/", {"units": [2**64]}, "units[0]"),
        ("ops", "/api/v1/orders/X/cancel/", {"units": [2**64]}, "units[0]"),
    ],
)
def test_ids_beyond_a_64_bit_column_are_400(api_client_for, role, url, payload, field):
    r = api_client_for(role).post(url, payload, format="json")
    if r.status_code == 403:
        pytest.fail(f"{role} may not call {url}; pick a role that may")
    body = assert_error(r, 400, "invalid")
    assert field in body["extra"]["fields"], body


# --- codes in the path longer than their columns --------------------------------------------


def test_a_sku_code_of_301_characters_in_the_path_is_400(warehouse_api):
    code = "S" * 301
    r = warehouse_api.put(
        f"/api/v1/skus/{code}/",
        {"product": "p1", "name": "Long", "price": "10.00"},
        format="json",
    )
    body = assert_error(r, 400, "invalid")
    assert "sku" in body["extra"]["fields"]
    assert not SKU.objects.filter(code__startswith="SSS").exists()


def test_a_location_code_of_301_characters_in_the_path_is_400(warehouse_api):
    code = "l" * 301
    r = warehouse_api.put(
        f"/api/v1/locations/{code}/", {"name": "Far", "kind": "warehouse"}, format="json"
    )
    body = assert_error(r, 400, "invalid")
    assert "code" in body["extra"]["fields"]
    assert not Location.objects.filter(code__startswith="lll").exists()


def test_a_sku_code_of_100_characters_is_accepted(warehouse_api):
    r = warehouse_api.put(
        f"/api/v1/skus/{'S' * 100}/",
        {"product": "p1", "name": "Long", "price": "10.00"},
        format="json",
    )
    assert r.status_code == 201, r.json()


# --- units per order ----------------------------------------------------------------------


def _order_body(lines, external_id="EXT-1") -> dict:
    total = sum(Decimal(ln["unit_price"]) * ln["quantity"] for ln in lines)
    return {
        "channel": "web",
        "external_id": external_id,
        "currency": "INR",
        "placed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "customer": {"email": "a@example.com"},
        "lines": lines,
        "payments": [{"method": "card", "amount": str(total)}] if total else [],
    }


def test_an_order_above_the_unit_limit_is_400(ops_api, make_sku, channel, settings):
    # given a limit of 10 units per order
    settings.OMS_MAX_UNITS_PER_ORDER = 10
    make_sku("LIM-1", Decimal("1.00"), stock=50)

    # when an order asks for 6 + 5 units
    lines = [
        {"sku": "LIM-1", "quantity": 6, "unit_price": "1.00"},
        {"sku": "LIM-1", "quantity": 5, "unit_price": "1.00"},
    ]
    r = ops_api.post("/api/v1/orders/", _order_body(lines), format="json")

    # then it is refused naming the limit, and nothing is booked
    body = assert_error(r, 400, "too_many_units")
    assert body["extra"]["max"] == 10
    assert not Order.objects.exists()

    # and 10 units pass
    lines[1]["quantity"] = 4
    r = ops_api.post("/api/v1/orders/", _order_body(lines, "EXT-2"), format="json")
    assert r.status_code == 201, r.json()


def test_the_default_unit_limit_is_5000(settings):
    assert settings.OMS_MAX_UNITS_PER_ORDER == 5000


# --- 404, 400, 413 and 500 under /api/ are JSON ---------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/shipments/abc/delivered/",
        "/api/v1/refunds/not-a-number/retry/",
        "/api/v1/no-such-endpoint/",
        "/api/nothing-here",
    ],
)
def test_an_unknown_api_path_or_a_non_integer_id_is_a_json_404(ops_api, url):
    r = ops_api.post(url, {}, format="json")
    assert_error(r, 404, "not_found")


def test_an_unknown_page_outside_the_api_stays_html(client):
    r = client.get("/no-such-page/")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.api.urls_boom")
@pytest.mark.parametrize("url", ["/api/v1/boom/", "/api/v1/drf-boom/"])
def test_a_server_error_under_the_api_is_json(client, url):
    client.raise_request_exception = False
    r = client.get(url)
    body = assert_error(r, 500, "server_error")
    assert "boom" not in body["message"]


@pytest.mark.urls("tests.api.urls_boom")
def test_a_server_error_outside_the_api_stays_html(client):
    client.raise_request_exception = False
    r = client.get("/console/boom/")
    assert r.status_code == 500
    assert r["Content-Type"].startswith("text/html")


def test_a_json_body_over_the_limit_is_413_json(ops_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = ops_api.post(
        "/api/v1/orders/", data=json.dumps({"pad": "p" * 2000}), content_type="application/json"
    )
    body = assert_error(r, 413, "too_large")
    assert body["extra"]["max"] == 1000


class Unreadable(io.RawIOBase):
    """A request body that must not be read: reading it fails the test."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readinto = read


MULTIPART_60MB = {
    "CONTENT_TYPE": "multipart/form-data; boundary=xyz",
    "CONTENT_LENGTH": str(60 * 1024 * 1024),
    "wsgi.input": Unreadable(),
}


def test_a_60_mb_upload_is_refused_with_413_before_it_is_read(storefront_api):
    r = storefront_api.generic("POST", "/api/v1/returns/RMA-NONE/evidence/", **MULTIPART_60MB)
    body = assert_error(r, 413, "too_large")
    assert body["extra"]["size"] == 60 * 1024 * 1024


def test_a_60_mb_upload_to_the_portal_gets_a_clear_page(client):
    r = client.generic("POST", "/returns/orders/OD-X/return/", **MULTIPART_60MB)
    assert r.status_code == 413
    assert r["Content-Type"].startswith("text/html")
    assert b"the limit is" in r.content


def test_an_upload_within_the_limit_is_not_refused_by_size(storefront_api, settings):
    settings.OMS_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    r = storefront_api.post("/api/v1/returns/RMA-NONE/evidence/", {"unit": 1}, format="multipart")
    assert r.status_code != 413


# --- pagination ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/orders/", "/api/v1/returns/", "/api/v1/sla/legs/", "/api/v1/dead-letters/"]
)
@pytest.mark.parametrize("query", ["limit=100000000000000000000", "offset=100000000000000000000"])
def test_a_huge_limit_or_offset_is_refused_not_a_500(
    api_client_for, storefront_api, delivered, url, query
):
    # given rows to list (an empty list never reaches the database's LIMIT)
    r = storefront_api.post("/api/v1/returns/", _return_body(delivered), format="json")
    assert r.status_code == 201, r.json()

    # PostgreSQL refused LIMIT 10**20 (bigint out of range) with a 500.
    # Beyond what the column and the schema allow, it is a 400 naming the
    # parameter (oms/pagination.py); a limit within range is capped at 1000.
    name = query.split("=")[0]
    allowed = []
    for role in ("supervisor", "ops"):
        r = api_client_for(role).get(f"{url}?{query}")
        if r.status_code == 403:
            continue  # this role may not list here
        allowed.append(role)
        assert_error(r, 400, "invalid")
        assert name in r.json()["extra"]["fields"], r.json()
    assert allowed, url
    r = api_client_for(allowed[0]).get(f"{url}?limit=1000000")
    assert r.status_code == 200, r.json()
    assert "results" in r.json()


def test_too_many_query_parameters_is_a_json_400(ops_api, settings):
    settings.DEBUG = True  # Django's debug 400 page itself failed on this (a 500)
    query = "&".join(f"a{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    r = ops_api.get(f"/api/v1/orders/?{query}")
    assert_error(r, 400, "invalid")
