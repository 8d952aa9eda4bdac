"""The OpenAPI schema at /api/schema/ tells the truth: list endpoints are
documented as the pages they answer with, nullable values are nullable, every
operation documents its errors in the one error shape, request constraints match
what the server enforces, and real responses validate against it."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from io import StringIO

import jsonschema
import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from flows.return_events import return_handle_event
from flows.return_intake import return_create
from refunds.models import Refund
from returns.services import ItemRequest, QcResult, ReturnEventData, ReturnRequest

pytestmark = pytest.mark.django_db

PAGINATED_LISTS = [
    "/api/v1/orders/",
    "/api/v1/returns/",
    "/api/v1/dead-letters/",
    "/api/v1/sla/legs/",
]


@pytest.fixture(scope="module")
def openapi() -> dict:
    # Round-trip through JSON, as a client sees it (lazy strings, tuples).
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def _resolve(openapi: dict, node: dict) -> dict:
    while "$ref" in node:
        node = openapi["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _json_schema(node):
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` also allows null."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def assert_conforms(openapi: dict, path: str, method: str, response) -> None:
    """The response's body validates against the schema documented for its status."""
    operation = openapi["paths"][path][method]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path}: {status} is not documented"
    schema = documented[status]["content"]["application/json"]["schema"]
    root = {**_json_schema(schema), "components": _json_schema(openapi["components"])}
    jsonschema.validate(response.json(), root)


def _pending_refund(make_order, deliver_order, actor):
    order = make_order([("MUG-S", 1, Decimal("300.00"))])
    deliver_order(order)
    unit = order.units.get()
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(reason="changed_mind", resolution="refund", unit=unit.pk)],
        ),
        actor=actor,
    )
    for data in (
        ReturnEventData(type="pickup_completed"),
        ReturnEventData(type="received", location="wh-main"),
        ReturnEventData(type="qc_result", results=[QcResult(unit=unit.pk, passed=True)]),
    ):
        return_handle_event(rma=ret.rma, data=data, actor=actor)
    refund = Refund.objects.get(order=order)
    # Issued after commit; inside the test transaction it stays pending.
    assert refund.state == "pending"
    assert refund.issued_at is None
    return order, ret, refund


@pytest.mark.parametrize("path", PAGINATED_LISTS)
def test_paginated_lists_are_documented_as_pages(openapi, path):
    operation = openapi["paths"][path]["get"]
    body = _resolve(openapi, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert body["type"] == "object"
    assert set(body["properties"]) == {"count", "next", "previous", "results"}
    assert body["properties"]["results"]["type"] == "array"
    assert body["properties"]["next"]["nullable"] is True
    assert {p["name"] for p in operation["parameters"]} >= {"limit", "offset"}


def test_list_responses_validate_against_the_schema(
    openapi, make_order, deliver_order, actor, supervisor_api, ops_api, finance_api
):
    # given an order with a return whose refund is not issued yet, and SLA legs
    _, ret, _ = _pending_refund(make_order, deliver_order, actor)
    # then every list answers with what the schema says
    for api, path in [
        (supervisor_api, "/api/v1/orders/"),
        (supervisor_api, "/api/v1/returns/"),
        (supervisor_api, "/api/v1/sla/legs/"),
        (ops_api, "/api/v1/dead-letters/"),
        (finance_api, "/api/v1/refunds/"),
    ]:
        response = api.get(path)
        assert response.status_code == 200, (path, response.json())
        assert_conforms(openapi, path, "get", response)
    page = supervisor_api.get("/api/v1/returns/").json()
    assert page["count"] == 1
    assert page["results"][0]["rma"] == ret.rma
    legs = supervisor_api.get("/api/v1/sla/legs/").json()["results"]
    assert any(leg["completed_at"] is None for leg in legs), legs


def test_a_pending_refund_validates_with_issued_at_null(
    openapi, make_order, deliver_order, actor, finance_api, supervisor_api
):
    # given a refund that is not issued yet
    order, ret, _ = _pending_refund(make_order, deliver_order, actor)
    # when it is listed, and its return and order are read
    refunds = finance_api.get(f"/api/v1/refunds/?order={order.number}")
    # then issued_at is null and the schema allows it
    assert refunds.json()[0]["issued_at"] is None
    assert_conforms(openapi, "/api/v1/refunds/", "get", refunds)
    assert_conforms(
        openapi,
        "/api/v1/returns/{rma}/",
        "get",
        supervisor_api.get(f"/api/v1/returns/{ret.rma}/"),
    )
    assert_conforms(
        openapi,
        "/api/v1/orders/{number}/",
        "get",
        supervisor_api.get(f"/api/v1/orders/{order.number}/"),
    )


@pytest.mark.parametrize(
    ("component", "fields"),
    [
        ("RefundOutput", ["issued_at", "rma", "credit_note"]),
        ("LegOutput", ["completed_at", "breached_at"]),
        ("ShipmentOutput", ["delivered_at", "cod_collected"]),
    ],
)
def test_values_that_can_be_null_are_nullable(openapi, component, fields):
    properties = openapi["components"]["schemas"][component]["properties"]
    for field in fields:
        assert properties[field].get("nullable") is True, f"{component}.{field}"


def test_every_operation_documents_its_errors_in_the_error_shape(openapi):
    missing = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            expected = {"400"}
            if operation.get("security") != [{}] and "webhooks" not in path:
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            if method in ("post", "put", "patch"):
                expected |= {"413", "415"}
            responses = operation["responses"]
            for code in sorted(expected):
                schema = responses.get(code, {}).get("content", {}).get("application/json", {})
                if schema.get("schema") != {"$ref": "#/components/schemas/Error"}:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []


def test_request_bodies_are_json_except_the_uploads(openapi):
    media = {
        f"{method.upper()} {path}": sorted(operation["requestBody"]["content"])
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert media.pop("POST /api/v1/returns/{rma}/evidence/") == ["multipart/form-data"]
    assert media.pop("POST /api/v1/returns/{rma}/inspections/") == [
        "application/json",
        "multipart/form-data",
    ]
    assert {tuple(m) for m in media.values()} == {("application/json",)}


def test_only_parameters_the_server_reads_are_documented(openapi, supervisor_api):
    # the quality report is CSV whatever ?format= says, so it has no such parameter
    operation = openapi["paths"]["/api/v1/quality/report.csv"]["get"]
    assert "format" not in {p["name"] for p in operation.get("parameters", [])}
    response = supervisor_api.get("/api/v1/quality/report.csv?format=json")
    assert response["Content-Type"].startswith("text/csv")


def _request_props(openapi, component):
    return openapi["components"]["schemas"][component]["properties"]


def test_request_constraints_match_what_the_server_enforces(openapi):
    line = _request_props(openapi, "OrderCreateApiLineInputRequest")
    assert (line["quantity"]["minimum"], line["quantity"]["maximum"]) == (1, 1000)
    payment = _request_props(openapi, "OrderCreateApiPaymentInputRequest")
    assert payment["amount"]["pattern"].startswith("^(?!")  # not zero, not negative
    order = _request_props(openapi, "OrderCreateApiInputRequest")
    assert order["ship_from"]["maxLength"] == 40
    assert order["lines"]["minItems"] == 1
    assert _request_props(openapi, "ReturnInputRequest")["items"]["minItems"] == 1
    assert _request_props(openapi, "OrderCancelApiInputRequest")["lines"]["minItems"] == 1
    result = _request_props(openapi, "ReturnEventApiResultInputRequest")
    assert result["grade"]["maxLength"] == 20
    sku = _request_props(openapi, "SkuUpsertApiInputRequest")
    assert sku["price"]["pattern"] == r"^(?:[0-9]{1,12}(?:\.[0-9]{0,2})?|\.[0-9]{1,2})$"
    rate = sku["tax_rate"]["pattern"]
    assert [
        v for v in ("", "-1", "0", "7.5", "100", "100.00", "100.01", "101") if re.match(rate, v)
    ] == [
        "0",
        "7.5",
        "100",
        "100.00",
    ]
    channel = openapi["paths"]["/api/v1/channels/{code}/"]["put"]["parameters"]
    code = next(p for p in channel if p["name"] == "code")
    assert code["schema"]["pattern"] == "^[-a-zA-Z0-9_]+$"
    assert code["schema"]["maxLength"] == 40


def test_spectacular_validates_without_warnings(tmp_path):
    out = StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", file=str(tmp_path / "s.yaml"), stderr=out
    )
    assert out.getvalue() == ""


@pytest.mark.parametrize("path", PAGINATED_LISTS)
@pytest.mark.parametrize(
    "query", ["offset=null", "limit=abc", "limit=0", "offset=-1", "offset=99999999999999999999"]
)
def test_a_limit_or_offset_that_is_not_a_whole_number_in_range_is_refused(
    openapi, ops_api, supervisor_api, path, query
):
    # the schema documents them as whole numbers in a range; the server holds to it
    api = ops_api if "dead-letters" in path else supervisor_api
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert response.json()["extra"]["fields"][name]
    assert_conforms(openapi, path, "get", response)


def test_limit_and_offset_still_page(make_order, supervisor_api):
    for _ in range(3):
        make_order()
    page = supervisor_api.get("/api/v1/orders/?limit=2&offset=1").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["previous"] is not None


def test_first_schema_requests_in_parallel_all_succeed(client):
    # given drf-spectacular's extensions not loaded yet (as in a fresh worker)
    import threading

    from drf_spectacular.plumbing import OpenApiGeneratorExtension

    def registries():
        pending = [OpenApiGeneratorExtension]
        while pending:
            base = pending.pop()
            pending.extend(base.__subclasses__())
            if "_registry" in base.__dict__:
                yield base.__dict__["_registry"]

    for registry in registries():
        for extension in registry:
            if extension.target_class is None:
                extension.target_class = "not_installed_app_for_schema_test.View"
    # when eight threads ask for the schema at once
    statuses, start = [], threading.Barrier(8)

    def fetch():
        start.wait()
        statuses.append(client.get("/api/schema/").status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every one gets it
    assert statuses == [200] * 8
