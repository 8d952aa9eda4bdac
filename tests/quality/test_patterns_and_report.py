"""Defect patterns through the API (ops), the quality report (CSV, admin,
console dashboard) and the console's QC screen."""

import csv
import io
from decimal import Decimal

import pytest

from quality.models import DefectPattern, Inspection
from tests.ui.builders import staff_user

from .conftest import image_file
from .helpers import defect_return, first_unit, pickup_and_receive, unit_body

pytestmark = pytest.mark.django_db


def test_ops_feeds_a_pattern_and_it_is_used(ops_api, storefront_api, gadget, shipped):
    # when a quality system posts a pattern for a serial range
    r = ops_api.post(
        "/api/v1/defect-patterns/",
        {
            "sku": "GAD-1",
            "serial_from": "B2405-0001",
            "serial_to": "B2405-0500",
            "defect_type": "hardware_failure",
            "outcome": "replacement",
            "note": "PSU recall",
            "source": "qms",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["sku"] == "GAD-1"
    # then a matching claim is replaced by itself
    order = shipped(serials=("B2405-0100",))
    rma = defect_return(storefront_api, order).json()["rma"]
    body = unit_body(storefront_api, rma, first_unit(order))
    assert body["assessment"]["pattern"]["id"] == r.json()["id"]
    assert body["resolution"] == "replacement"
    assert ops_api.get("/api/v1/defect-patterns/").json()[0]["note"] == "PSU recall"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "refund"}, "sku"),
        ({"outcome": "review", "sku": "GAD-1"}, "outcome"),
        ({"outcome": "refund", "sku": "NOPE"}, "sku"),
        ({"outcome": "refund", "serial_from": "A"}, "serial_to"),
        ({"outcome": "refund", "serial_from": "B", "serial_to": "A"}, "serial_to"),
        ({"outcome": "refund", "defect_type": "nope"}, "defect_type"),
    ],
)
def test_bad_patterns_are_refused_naming_the_field(ops_api, gadget, body, field):
    r = ops_api.post("/api/v1/defect-patterns/", body, format="json")
    assert r.status_code == 400
    assert field in r.json()["message"]
    assert not DefectPattern.objects.exists()


def test_only_ops_may_add_patterns(storefront_api, warehouse_api, supervisor_api):
    body = {"outcome": "refund", "batch": "B1"}
    for api in (storefront_api, warehouse_api, supervisor_api):
        assert api.post("/api/v1/defect-patterns/", body, format="json").status_code == 403


@pytest.fixture
def sales(make_sku, shipped, storefront_api):
    """Electronics: GAD-1 (4 of 10 returned, defects) vs GAD-2 and GAD-3 (1 of 20)."""
    make_sku("GAD-1", Decimal("1000.00"), stock=50, category="electronics", warranty_months=12)
    make_sku("GAD-2", Decimal("1000.00"), stock=50, category="electronics", warranty_months=12)
    make_sku("GAD-3", Decimal("1000.00"), stock=50, category="electronics", warranty_months=12)
    orders = {}
    for code, n, returned, batch in (
        ("GAD-1", 10, 4, "B1"),
        ("GAD-2", 10, 1, "B2"),
        ("GAD-3", 10, 0, "B3"),
    ):
        order = shipped(code, serials=[f"{batch}-{i:03d}" for i in range(n)])
        orders[code] = order
        units = list(order.units.order_by("pk").values_list("pk", flat=True))
        for u in units[:returned]:
            r = defect_return(storefront_api, order, unit=u, defect_type="hardware_failure")
            assert r.status_code == 201, r.json()
    return orders


def test_report_csv_flags_the_outlier(sales, ops_api, supervisor_api, storefront_api):
    r = ops_api.get("/api/v1/quality/report.csv")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    skus = {row["key"]: row for row in rows if row["section"] == "sku"}
    assert skus["GAD-1"]["return_rate_pct"] == "40.0"
    assert skus["GAD-1"]["category_rate_pct"] == "5.0"
    assert skus["GAD-1"]["flagged"] == "yes"
    assert skus["GAD-2"]["flagged"] == "no"
    batches = {row["key"]: row for row in rows if row["section"] == "batch"}
    assert batches["GAD-1/B1"]["defects"] == "4"
    assert batches["GAD-1/B1"]["defect_rate_pct"] == "40.0"
    types = [row for row in rows if row["section"] == "defect_type"]
    assert types[0]["key"] == "hardware_failure"
    assert types[0]["defects"] == "5"
    assert supervisor_api.get("/api/v1/quality/report.csv").status_code == 200
    assert storefront_api.get("/api/v1/quality/report.csv").status_code == 403


def test_admin_report_and_console_dashboard_show_the_flag(sales, client, admin_user):
    client.force_login(admin_user)
    r = client.get("/admin/quality/skuquality/?flagged=yes")
    assert r.status_code == 200
    body = r.content.decode()
    assert "GAD-1" in body
    assert "GAD-2" not in body
    user = staff_user("sup", "supervisor")
    client.force_login(user)
    r = client.get("/console/dashboard/")
    assert r.status_code == 200
    assert "Return rate abnormally high" in r.content.decode()
    assert "GAD-1" in r.content.decode()


def test_the_console_qc_screen_records_an_inspection(
    client, storefront_api, warehouse_api, gadget, shipped
):
    order = shipped()
    unit = first_unit(order)
    rma = defect_return(storefront_api, order).json()["rma"]
    pickup_and_receive(warehouse_api, rma)
    client.force_login(staff_user("cx", "agent"))
    assert client.get(f"/console/qc/{rma}/").status_code == 403  # QC is the warehouse's
    client.force_login(staff_user("qc", "warehouse"))
    r = client.get(f"/console/qc/{rma}/")
    assert r.status_code == 200
    assert "Record inspection" in r.content.decode()
    r = client.post(
        f"/console/qc/{rma}/",
        {
            "unit": unit,
            "passed": "true",
            "grade": "C",
            "disposition": "quarantine",
            "check_powers_on": "on",
            "notes": "dead on arrival",
            "photos": [image_file()],
        },
    )
    assert r.status_code == 302
    inspection = Inspection.objects.get(return_item__unit_id=unit)
    assert inspection.checklist["powers_on"] is True
    assert inspection.checklist["cosmetic_ok"] is False
    assert inspection.disposition == "quarantine"
    assert inspection.photos.count() == 1
    # a defective unit cannot be restocked from the screen either
    assert unit_body(storefront_api, rma, unit)["qc"]["disposition"] == "quarantine"


def test_the_qc_screen_needs_the_event_permission(client, storefront_api, gadget, shipped):
    order = shipped()
    rma = defect_return(storefront_api, order).json()["rma"]
    client.force_login(staff_user("fin", "finance"))
    assert client.get(f"/console/qc/{rma}/").status_code == 403
