"""The automatic checks: warranty, known patterns, serial match, and the
defect type each defect line must carry."""

from decimal import Decimal

import pytest

from returns.models import ReturnItem

from .conftest import image_file
from .helpers import defect_return, first_unit, unit_body

pytestmark = pytest.mark.django_db


def test_in_warranty_without_a_pattern_goes_to_review(storefront_api, gadget, shipped):
    # given a gadget delivered 5 days ago with a 12-month warranty
    order = shipped()
    unit = first_unit(order)
    # when the customer claims a hardware failure
    r = defect_return(storefront_api, order)
    # then the assessment is in the return body: in term, serial unknown, review
    assert r.status_code == 201, r.json()
    body = unit_body(storefront_api, r.json()["rma"], unit)
    a = body["assessment"]
    assert body["defect_type"] == "hardware_failure"
    assert a["warranty"] == "in_term"
    assert a["pattern"] is None
    assert a["serial_match"] is None
    assert a["recommendation"] == "review"
    assert any("In warranty until" in reason for reason in a["reasons"])
    assert set(a) >= {"warranty", "pattern", "serial_match", "recommendation", "reasons"}


def test_out_of_warranty_and_window_is_recommended_for_rejection(supervisor_api, gadget, shipped):
    # given a gadget delivered 14 months ago (warranty 12 months, window 30 days)
    order = shipped(days_ago=430)
    unit = first_unit(order)
    # when a supervisor overrides eligibility to log the claim
    r = defect_return(supervisor_api, order, override_eligibility=True)
    assert r.status_code == 201, r.json()
    # then the checks recommend rejecting it, for a person to confirm
    a = unit_body(supervisor_api, r.json()["rma"], unit)["assessment"]
    assert a["warranty"] == "expired"
    assert a["recommendation"] == "reject"
    assert a["decided_automatically"] is False
    assert any("Warranty ended" in reason for reason in a["reasons"])


def test_a_claim_after_the_window_is_accepted_under_warranty(storefront_api, gadget, shipped):
    # given a gadget delivered 100 days ago: return window closed, warranty running
    order = shipped(days_ago=100)
    # when a defect is claimed
    r = defect_return(storefront_api, order)
    # then it is accepted and in term
    assert r.status_code == 201, r.json()
    a = unit_body(storefront_api, r.json()["rma"], first_unit(order))["assessment"]
    assert a["warranty"] == "in_term"


def test_no_warranty_months_means_none(storefront_api, make_sku, shipped):
    make_sku("TEE-1", Decimal("500.00"), stock=5, category="apparel")
    order = shipped("TEE-1", serials=("",))
    r = defect_return(storefront_api, order, defect_type="cosmetic_damage")
    a = unit_body(storefront_api, r.json()["rma"], first_unit(order))["assessment"]
    assert a["warranty"] == "none"
    assert a["serial_match"] is None


def test_a_known_pattern_decides_by_itself(storefront_api, gadget, shipped, pattern):
    # given a known defect in batch B2405 of GAD-1: hardware failures are refunded
    known = pattern("refund", batch="B2405", defect_type="hardware_failure", note="Bad capacitor")
    order = shipped(serials=("B2405-0042",))
    unit = first_unit(order)
    # when the customer asks for a replacement of a hardware failure
    r = defect_return(storefront_api, order, resolution="replacement")
    # then the pattern matches and its outcome becomes the resolution
    assert r.status_code == 201, r.json()
    body = unit_body(storefront_api, r.json()["rma"], unit)
    a = body["assessment"]
    assert a["pattern"]["id"] == known.pk
    assert a["recommendation"] == "refund"
    assert a["decided_automatically"] is True
    assert a["applied"] is True
    assert body["resolution"] == "refund"
    assert "Bad capacitor" in a["reasons"]


def test_a_pattern_for_another_batch_or_type_does_not_match(
    storefront_api, gadget, shipped, pattern
):
    pattern("refund", batch="B2499")
    pattern("refund", defect_type="cosmetic_damage")
    order = shipped(serials=("B2405-0042",))
    r = defect_return(storefront_api, order)
    a = unit_body(storefront_api, r.json()["rma"], first_unit(order))["assessment"]
    assert a["pattern"] is None
    assert a["recommendation"] == "review"


def test_serial_range_patterns_match_inside_the_range(storefront_api, gadget, shipped, pattern):
    pattern("repair", serial_from="B2405-0100", serial_to="B2405-0199")
    inside = shipped(serials=("B2405-0150",))
    outside = shipped(serials=("B2405-0200",))
    a_in = unit_body(
        storefront_api, defect_return(storefront_api, inside).json()["rma"], first_unit(inside)
    )
    a_out = unit_body(
        storefront_api, defect_return(storefront_api, outside).json()["rma"], first_unit(outside)
    )
    assert a_in["assessment"]["recommendation"] == "repair"
    assert a_in["resolution"] == "repair"
    assert a_out["assessment"]["recommendation"] == "review"


def test_a_serial_that_was_not_shipped_is_flagged_for_review(
    storefront_api, supervisor_api, gadget, shipped, pattern
):
    # given a pattern that would give partial credit for batch B2405
    pattern("partial_credit", batch="B2405")
    order = shipped(serials=("B2405-0043",))
    unit = first_unit(order)
    # when the customer claims with a serial that was never shipped (risk holds it)
    r = defect_return(storefront_api, order, serial="ZZ-9999")
    assert r.json()["state"] == "pending_review"
    rma = r.json()["rma"]
    assert (
        supervisor_api.post(f"/api/v1/returns/{rma}/approve/", {}, format="json").status_code == 200
    )
    # then the checks flag it for review instead of applying the pattern
    body = unit_body(storefront_api, rma, unit)
    a = body["assessment"]
    assert a["serial_match"] is False
    assert a["recommendation"] == "review"
    assert a["decided_automatically"] is False
    assert any("not the one shipped (B2405-0043)" in reason for reason in a["reasons"])
    assert body["resolution"] == "refund"
    assert body["state"] == "return_requested"


def test_evidence_with_another_serial_flags_review(storefront_api, gadget, shipped):
    order = shipped(serials=("B2405-0043",))
    unit = first_unit(order)
    rma = defect_return(storefront_api, order).json()["rma"]
    r = storefront_api.post(
        f"/api/v1/returns/{rma}/evidence/",
        {"unit": unit, "serial": "ZZ-9999", "photos": [image_file()]},
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["assessment"]["serial_match"] is False
    assert r.json()["assessment"]["recommendation"] == "review"


def test_a_matching_serial_is_confirmed(storefront_api, gadget, shipped):
    order = shipped(serials=("B2405-0042",))
    unit = first_unit(order)
    rma = defect_return(storefront_api, order).json()["rma"]
    r = storefront_api.post(
        f"/api/v1/returns/{rma}/evidence/",
        {"unit": unit, "serial": "b2405-0042 "},
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["assessment"]["serial_match"] is True


def test_a_defect_line_without_a_type_is_unclassified_for_qc(storefront_api, gadget, shipped):
    """The returns contract never required defect_type: a storefront built
    against it keeps working, and QC classifies the unit (as in the portal
    and the console)."""
    # given a delivered order
    order = shipped()
    unit = first_unit(order)
    # when a storefront returns a unit as defective without a defect type
    r = defect_return(storefront_api, order, defect_type=None)
    # then the return is created and the line waits for QC as unclassified
    assert r.status_code == 201, r.json()
    assert ReturnItem.objects.get(unit_id=unit).defect_code == "unclassified"


def test_an_unknown_defect_type_is_refused_naming_the_field(storefront_api, gadget, shipped):
    order = shipped()
    r = defect_return(storefront_api, order, defect_type="made_up")
    assert r.status_code == 400
    assert r.json()["code"] == "unknown_defect_type"


def test_damage_in_transit_takes_its_type_from_the_reason(storefront_api, gadget, shipped):
    order = shipped()
    unit = first_unit(order)
    r = storefront_api.post(
        "/api/v1/returns/",
        {
            "order": order.number,
            "items": [{"unit": unit, "reason": "damaged_in_transit", "resolution": "refund"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert ReturnItem.objects.get(unit_id=unit).defect_code == "damaged_in_transit"
