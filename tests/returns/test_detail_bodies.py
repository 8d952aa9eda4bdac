"""GET order and return detail answer byte for byte what they answered when
the bodies were built by DRF serializers over fully loaded models (issue 15
built them as plain dicts from narrower reads). The reference for an order is
``OrderOutput`` over ``selectors.order_get`` (both kept: the schema documents
the body with it); for a return, the previous read model, copied below.
Covered: lines, units, payments, shipments (a send-back too), returns of each
kind, refunds with tenders, an exchange's replacement, quality's assessment
with a pattern, evidence photos, an inspection and a repair order, SLA legs
and the loyalty key."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from rest_framework.renderers import JSONRenderer

from orders.apis import OrderOutput, OrderTimelineApi
from orders.models import Unit
from orders.selectors import order_get
from quality.selectors import return_quality
from refunds.selectors import refunds_for_returns
from returns.selectors import return_get, return_timeline
from returns.states import PickupStatus
from sla.selectors import leg_body, return_legs
from tests.returns.helpers import create, event, walk_to_qc

pytestmark = pytest.mark.django_db

NO_QUALITY = {"defect_type": None, "evidence_photos": 0, "assessment": None, "repair": None}


def _image() -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return SimpleUploadedFile("p.png", buf.getvalue(), content_type="image/png")


# --- the reference: the return body as flows.read built it before issue 15 ---


def _old_unit_body(i) -> dict:
    return {
        "id": i.unit_id,
        "line": i.unit.line_id,
        "sku": i.unit.sku_id and i.unit.sku.code,
        "state": i.unit.state,
        "resolution": i.resolution,
        "reason": i.reason.code,
        "exchange_sku": i.exchange_sku.code if i.exchange_sku else None,
        "price_difference": str(i.price_difference),
        "difference_collected": i.difference_collected,
        "replacement_unit": i.replacement_unit_id,
        "qc": None
        if i.qc_passed is None
        else {
            "passed": i.qc_passed,
            "grade": i.grade,
            "disposition": i.disposition,
            "notes": i.qc_notes,
        },
    }


def _old_refund_body(r) -> dict:
    def points(tender) -> dict:
        if tender.instrument != "loyalty_points":
            return {}
        rows = r.breakdown.get("tenders", [])
        return {
            "points": next((t.get("points") for t in rows if t["payment"] == tender.payment_id), 0)
        }

    return {
        "id": r.pk,
        "kind": r.kind,
        "state": r.state,
        "amount": str(r.amount),
        "method": r.method,
        "credit_note": getattr(getattr(r, "credit_note", None), "number", None),
        "tenders": [
            {
                "method": t.instrument,
                "amount": str(t.amount),
                "state": t.state,
                "gateway": t.gateway,
                "reference": t.gateway_reference,
                "bank_reference": t.bank_reference,
            }
            | points(t)
            for t in r.tenders.all()
        ],
    }


def old_return_body(rma: str) -> dict:
    rr = return_get(rma)
    refunds = refunds_for_returns([rr.pk]).get(rr.pk, [])
    data = {
        "rma": rr.rma,
        "order": rr.order.number,
        "type": rr.type,
        "is_full_return": rr.is_full_return,
        "state": rr.state,
        "policy_version": rr.policy.version,
        "refund_method": rr.refund_method,
        "channel": rr.channel,
        "location": rr.location.code if rr.location else None,
        "pickup_attempts": rr.pickup_attempts,
        "pickup": {
            "courier": rr.courier or "manual",
            "status": rr.pickup_status,
            "awb": rr.awb,
            "courier_name": rr.courier_name,
            "scheduled_at": rr.pickup_scheduled_at,
            "error": rr.pickup_error,
            "label_url": f"/returns/r/{rr.rma}/label.pdf"
            if rr.pickup_status == PickupStatus.UNSERVICEABLE
            else None,
        },
        "risk": {"score": rr.risk_score, "reasons": rr.risk_reasons},
        "created_at": rr.created_at,
        "units": [_old_unit_body(i) for i in rr.items.all()],
        "refund": {"estimated": rr.estimate.get("total"), "breakdown": rr.estimate},
        "refunds": [_old_refund_body(r) for r in refunds],
        "timeline": OrderTimelineApi.Output(
            return_timeline(rr, [r.pk for r in refunds]), many=True
        ).data,
    }
    data["sla"] = [leg_body(g) for g in return_legs(rr)]
    quality = return_quality(rr)
    for unit in data["units"]:
        unit.update(quality.get(unit["id"], dict(NO_QUALITY)))
    return data


def old_order_body(number: str) -> dict:
    return OrderOutput(order_get(number)).data


# --- fixtures -------------------------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rich_order(make_sku, make_order, actor, media_root):
    """Delivered: two tees of one product, a cap and a gadget with a serial."""
    from flows.delivery import shipment_deliver
    from orders.services import shipment_create

    make_sku("DB-TEE-M", Decimal("999.00"), tax_rate=Decimal("12"), product="dbtee", stock=10)
    make_sku("DB-TEE-L", Decimal("999.00"), tax_rate=Decimal("12"), product="dbtee", stock=10)
    make_sku("DB-CAP", Decimal("400.00"), product="dbcap", stock=10)
    make_sku("DB-GAD", Decimal("1000.00"), stock=10, category="electronics", warranty_months=12)
    order = make_order(
        [("DB-TEE-M", 2), ("DB-CAP", 1), ("DB-GAD", 1)],
        order_discount=Decimal("50.00"),
        shipping=Decimal("40.00"),
    )
    units = list(Unit.objects.filter(order=order).order_by("line__position", "index"))
    when = timezone.now() - timedelta(days=5)
    shipment = shipment_create(
        order=order,
        unit_ids=[u.pk for u in units],
        actor=actor,
        serials={units[3].pk: "DB2405-0500"},
        shipped_at=when,
    )
    shipment_deliver(shipment_id=shipment.pk, actor=actor, delivered_at=when)
    return order, [u.pk for u in units]


def _assert_same(response, reference: dict) -> None:
    assert response.status_code == 200, response.content
    assert response.content == JSONRenderer().render(reference)


def test_order_and_return_bodies_are_unchanged(
    rich_order,
    storefront_api,
    warehouse_api,
    django_capture_on_commit_callbacks,
):
    from quality.services import defect_pattern_create

    order, (tee1, tee2, cap, gadget) = rich_order
    defect_pattern_create(
        outcome="repair", sku="DB-GAD", serial_from="DB2405-0000", serial_to="DB2405-0999"
    )
    with django_capture_on_commit_callbacks(execute=True):
        # a refund-only return walked to QC (its refund issued)
        refund = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {"unit": u, "reason": "changed_mind", "resolution": "refund"}
                    for u in (tee1, cap)
                ],
            },
        )
        assert refund.status_code == 201, refund.json()
        walk_to_qc(warehouse_api, refund.json()["rma"], [tee1, cap])
        # an exchange walked to QC (its replacement reserved and sent)
        exchange = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {
                        "unit": tee2,
                        "reason": "size_too_small",
                        "resolution": "exchange",
                        "exchange_sku": "DB-TEE-L",
                    }
                ],
            },
        )
        assert exchange.status_code == 201, exchange.json()
        walk_to_qc(warehouse_api, exchange.json()["rma"], [tee2])
        # a defect claim: assessment with a pattern, photos, inspection, repair
        defect = create(
            storefront_api,
            {
                "order": order.number,
                "items": [
                    {
                        "unit": gadget,
                        "reason": "defective",
                        "resolution": "refund",
                        "serial": "DB2405-0500",
                        "defect_type": "hardware_failure",
                    }
                ],
            },
        )
        assert defect.status_code == 201, defect.json()
        rma = defect.json()["rma"]
        r = storefront_api.post(
            f"/api/v1/returns/{rma}/evidence/",
            {"unit": gadget, "serial": "DB2405-0500", "photos": [_image(), _image()]},
            format="multipart",
        )
        assert r.status_code in (200, 201), r.json()
        for body in ({"type": "pickup_completed"}, {"type": "received", "location": "wh-main"}):
            assert event(warehouse_api, rma, body).status_code == 200
        r = warehouse_api.post(
            f"/api/v1/returns/{rma}/inspections/",
            {"unit": gadget, "passed": "true", "grade": "C", "photos": [_image()]},
            format="multipart",
        )
        assert r.status_code == 201, r.json()

    rmas = [refund.json()["rma"], exchange.json()["rma"], rma]
    # (the assessment, pattern and repair are read with the items: no
    # deferred field is loaded afterwards)
    with CaptureQueriesContext(connection) as ctx:
        storefront_api.get(f"/api/v1/returns/{rma}/")
    assert len([q for q in ctx.captured_queries if '"oms_cache"' not in q["sql"]]) <= 5
    defect_body = storefront_api.get(f"/api/v1/returns/{rma}/").json()
    assert defect_body["units"][0]["assessment"]["pattern"] is not None
    assert defect_body["units"][0]["evidence_photos"] == 2
    assert defect_body["units"][0]["repair"] is not None
    assert storefront_api.get(f"/api/v1/returns/{rmas[0]}/").json()["refunds"]

    # then each body is what the reference builds, byte for byte
    _assert_same(
        storefront_api.get(f"/api/v1/orders/{order.number}/"), old_order_body(order.number)
    )
    for each in rmas:
        _assert_same(storefront_api.get(f"/api/v1/returns/{each}/"), old_return_body(each))


def test_an_unshipped_cod_order_with_loyalty_body_is_unchanged(storefront_api, make_sku):
    # given an order taken through the API with loyalty points and a COD tender
    make_sku("DB-SOCK", Decimal("250.00"), stock=10)
    body = {
        "channel": "web",
        "external_id": "DB-LOYAL-1",
        "currency": "INR",
        "placed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "customer": {"email": "loyal@example.com", "name": "Loyal"},
        "lines": [{"sku": "DB-SOCK", "quantity": 3, "unit_price": "250.00", "tax_rate": "5"}],
        "payments": [{"method": "cod", "amount": "650.00"}],
        "loyalty": {"earned": 40, "redeemed": 100, "points_per_unit_currency": "1"},
    }
    created = storefront_api.post("/api/v1/orders/", body, format="json")
    assert created.status_code == 201, created.json()
    number = created.json()["number"]
    assert created.json()["loyalty"] is not None

    # then the 201 body and GET are the reference's
    assert created.content == JSONRenderer().render(old_order_body(number))
    _assert_same(storefront_api.get(f"/api/v1/orders/{number}/"), old_order_body(number))


def test_a_return_without_items_is_read_on_its_own(rich_order, storefront_api):
    # given a return row with no items (the SLA bench bulk-inserts such rows)
    from returns.models import Return

    order, units = rich_order
    created = create(
        storefront_api,
        {
            "order": order.number,
            "items": [{"unit": units[0], "reason": "changed_mind", "resolution": "refund"}],
        },
    )
    assert created.status_code == 201, created.json()
    row = Return.objects.filter(rma=created.json()["rma"]).values().get()
    row.pop("id")
    bare = Return.objects.bulk_create([Return(**{**row, "rma": f"{row['rma']}-X"})])[0]

    # when it is read, then it answers what the reference builds (no units)
    response = storefront_api.get(f"/api/v1/returns/{bare.rma}/")
    assert response.json()["units"] == []
    _assert_same(response, old_return_body(bare.rma))
    # and an unknown return is still a 404
    assert storefront_api.get("/api/v1/returns/RMA-NOPE/").status_code == 404
