"""COD refunds to a bank account or UPI id are payouts (issue 12): the refund
waits in ``awaiting_payout`` until finance records the bank's UTR; a payout the
bank returns is corrected by the customer and paid again, as the same refund."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from orders.models import LedgerEntry, OutboundMessage, Unit
from refunds.models import CreditNote, Payout, PayoutAttempt, Refund
from tests.payouts.conftest import ACCOUNT, UPI
from tests.returns.helpers import assert_invariants

pytestmark = pytest.mark.django_db

UTR = "412345678901"  # a 12-digit IMPS RRN
NEFT_UTR = "HDFCN52026120112"  # 16 characters, the bank's code first


def _messages(order, template):
    return list(OutboundMessage.objects.filter(order=order, template=template).order_by("pk"))


def test_a_cod_bank_refund_waits_for_finance_and_never_claims_issued(
    bank_refund, cod_order, finance_api, storefront_api
):
    # when a COD kurta refunded to a bank account passes QC
    payout = bank_refund(ACCOUNT)
    # then the refund awaits its payout: nothing moved on the ledger
    refund = payout.refund
    assert refund.state == "awaiting_payout"
    assert payout.state == "pending"
    assert payout.amount == Decimal("750.00")
    assert not LedgerEntry.objects.filter(order=cod_order, kind="payout").exists()
    assert not CreditNote.objects.filter(refund=refund).exists()
    assert Unit.objects.get(refund_items__refund=refund).state == "pending_refund"
    # and the customer is told a payout is scheduled, never that it was issued
    assert _messages(cod_order, "refund_issued") == []
    (scheduled,) = _messages(cod_order, "refund_payout_scheduled")
    assert "scheduled" in scheduled.body
    assert "issued" not in scheduled.body.lower()
    assert "••••••7890" in scheduled.body
    assert ACCOUNT["account_number"] not in scheduled.body
    # and the refund list says so; a retry is refused
    listed = storefront_api.get(f"/api/v1/refunds/?order={cod_order.number}").json()
    assert [r["state"] for r in listed] == ["awaiting_payout"]
    retry = finance_api.post(f"/api/v1/refunds/{refund.pk}/retry/")
    assert retry.status_code == 409


def test_finance_worklist_is_paginated_filtered_and_shows_details_in_full(bank_refund, finance_api):
    bank = bank_refund(ACCOUNT, unit=0)
    upi = bank_refund(UPI, unit=1)
    r = finance_api.get("/api/v1/payouts/?state=pending&limit=1")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    assert body["next"]
    assert len(body["results"]) == 1
    first = body["results"][0]
    assert first["reference"] == bank.reference
    assert first["beneficiary"] == ACCOUNT
    assert first["mode"] == "IMPS"
    assert first["amount"] == "750.00"
    second = finance_api.get("/api/v1/payouts/?state=pending&limit=1&offset=1").json()
    assert second["results"][0]["beneficiary"] == UPI
    assert second["results"][0]["mode"] == "UPI"
    assert finance_api.get("/api/v1/payouts/?state=paid").json()["count"] == 0
    assert finance_api.get("/api/v1/payouts/").json()["count"] == 2
    assert upi.rail == "upi"


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=done", "state"), ("state=", "state"), ("limit=0", "limit"), ("offset=x", "offset")],
)
def test_worklist_bad_query_is_a_400_naming_it(finance_api, query, field):
    r = finance_api.get(f"/api/v1/payouts/?{query}")
    assert r.status_code == 400
    assert field in str(r.json())


def test_bank_file_csv_has_the_bulk_payout_layout(bank_refund, finance_api):
    bank = bank_refund(ACCOUNT, unit=0)
    upi = bank_refund(UPI, unit=1)
    r = finance_api.get("/api/v1/payouts/export.csv?state=pending")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert list(rows[0]) == [
        "payment_mode",
        "amount",
        "currency",
        "beneficiary_name",
        "beneficiary_account_number",
        "beneficiary_ifsc",
        "beneficiary_vpa",
        "payout_reference",
        "narration",
        "beneficiary_email",
        "order",
        "rma",
    ]
    by_ref = {row["payout_reference"]: row for row in rows}
    assert set(by_ref) == {bank.reference, upi.reference}
    b = by_ref[bank.reference]
    assert (b["payment_mode"], b["amount"], b["beneficiary_name"]) == (
        "IMPS",
        "750.00",
        "Asha Kumar",
    )
    assert (b["beneficiary_account_number"], b["beneficiary_ifsc"]) == (
        "001234567890",
        "HDFC0001234",
    )
    assert b["narration"] == f"Refund {bank.refund.order.number}"
    u = by_ref[upi.reference]
    assert (u["payment_mode"], u["beneficiary_vpa"], u["beneficiary_account_number"]) == (
        "UPI",
        "asha.k@okhdfc",
        "",
    )
    # the default is the pending ones; a paid one leaves the file
    finance_api.post(f"/api/v1/payouts/{bank.pk}/paid/", {"utr": UTR}, format="json")
    default = finance_api.get("/api/v1/payouts/export.csv").content.decode()
    assert upi.reference in default
    assert bank.reference not in default
    assert finance_api.get("/api/v1/payouts/export.csv?state=nope").status_code == 400


def test_paid_issues_the_refund_with_the_utr_once(bank_refund, cod_order, finance_api, post):
    payout = bank_refund(ACCOUNT)
    # when finance records the UTR
    r = post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": UTR})
    # then the payout is paid and the refund issued, on the ledger with the UTR
    assert r.status_code == 200, r.json()
    assert (r.json()["state"], r.json()["utr"]) == ("paid", UTR)
    refund = Refund.objects.get(pk=payout.refund_id)
    assert refund.state == "issued"
    assert refund.issued_at
    assert CreditNote.objects.filter(refund=refund).exists()
    (entry,) = LedgerEntry.objects.filter(order=cod_order, kind="payout")
    assert (entry.amount, entry.reference) == (Decimal("750.00"), UTR)
    assert Unit.objects.get(refund_items__refund=refund).state == "refunded"
    assert refund.tenders.get().gateway_reference == UTR
    # and the customer's "refund issued" message carries the UTR
    (issued,) = _messages(cod_order, "refund_issued")
    assert UTR in issued.body
    assert "5–7" not in issued.body
    assert_invariants(cod_order)
    ledger = finance_api.get(f"/api/v1/orders/{cod_order.number}/ledger/").json()
    assert ledger["balanced"] is True
    assert ledger["paid_out"] == "750.00"
    # when the same call is retried: nothing changes twice
    again = post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": UTR})
    assert again.status_code == 200
    assert again.json()["utr"] == UTR
    assert LedgerEntry.objects.filter(order=cod_order, kind="payout").count() == 1
    assert len(_messages(cod_order, "refund_issued")) == 1
    assert PayoutAttempt.objects.filter(payout=payout).count() == 1
    # and another UTR for a paid payout is a conflict
    other = post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": NEFT_UTR})
    assert other.status_code == 409
    assert other.json()["code"] == "invalid_state"
    failed = post(finance_api, f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "x"})
    assert failed.status_code == 409


@pytest.mark.parametrize(
    "body",
    [{}, {"utr": ""}, {"utr": "12345"}, {"utr": "ABCD1234"}, {"utr": "4123456789012"}, {"utr": 7}],
)
def test_paid_refuses_a_malformed_utr(bank_refund, finance_api, body):
    payout = bank_refund(ACCOUNT)
    r = finance_api.post(f"/api/v1/payouts/{payout.pk}/paid/", body, format="json")
    assert r.status_code == 400
    assert "utr" in str(r.json())
    payout.refresh_from_db()
    assert payout.state == "pending"


def test_one_utr_pays_one_payout(bank_refund, finance_api):
    a = bank_refund(ACCOUNT, unit=0)
    b = bank_refund(UPI, unit=1)
    # a NEFT UTR typed in lower case is the bank's upper-case reference
    first = finance_api.post(
        f"/api/v1/payouts/{a.pk}/paid/", {"utr": NEFT_UTR.lower()}, format="json"
    )
    assert first.status_code == 200
    assert first.json()["utr"] == NEFT_UTR
    r = finance_api.post(f"/api/v1/payouts/{b.pk}/paid/", {"utr": NEFT_UTR}, format="json")
    assert r.status_code == 409
    assert r.json()["code"] == "utr_already_used"
    assert Payout.objects.get(pk=b.pk).state == "pending"


def test_unknown_payout_is_a_404(finance_api):
    assert (
        finance_api.post("/api/v1/payouts/999999/paid/", {"utr": UTR}, format="json").status_code
        == 404
    )
    assert (
        finance_api.post(
            "/api/v1/payouts/999999/failed/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )


def test_failed_then_corrected_then_paid_is_the_same_refund(
    bank_refund, cod_order, finance_api, storefront_api, post
):
    payout = bank_refund(ACCOUNT)
    refunds_before = Refund.objects.count()
    # when the bank returns it
    r = post(finance_api, f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "Account closed"})
    assert r.status_code == 200
    assert r.json()["state"] == "failed"
    # then the customer is asked to correct the details in the portal
    (ask,) = _messages(cod_order, "payout_failed")
    assert "Account closed" in ask.body
    assert "portal" in ask.body
    assert payout.refund.return_request.rma in ask.body
    assert ACCOUNT["account_number"] not in ask.body
    # a retried "failed" changes nothing; "paid" now is a conflict
    again = post(finance_api, f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "Account closed"})
    assert again.status_code == 200
    assert len(_messages(cod_order, "payout_failed")) == 1
    assert post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": UTR}).status_code == 409
    assert Refund.objects.get(pk=payout.refund_id).state == "awaiting_payout"
    # when the customer's storefront sends corrected details
    rma = payout.refund.return_request.rma
    url = f"/api/v1/returns/{rma}/payout-details/"
    bad = post(
        storefront_api, url, {"account_name": "Asha", "account_number": "12", "ifsc": "HDFC0001234"}
    )
    assert bad.status_code == 400
    assert "account_number" in str(bad.json()["extra"])
    fixed = post(storefront_api, url, UPI)
    assert fixed.status_code == 200, fixed.json()
    assert fixed.json() == [
        {
            "reference": payout.reference,
            "state": "pending",
            "amount": "750.00",
            "currency": "INR",
            "details": {"upi_id": "as••••@okhdfc"},
        }
    ]
    # (the same correction again is a no-op)
    assert post(storefront_api, url, UPI).status_code == 200
    # then the same payout is back in finance's worklist with the new details
    pending = finance_api.get("/api/v1/payouts/?state=pending").json()["results"]
    assert [(p["id"], p["beneficiary"], p["mode"]) for p in pending] == [(payout.pk, UPI, "UPI")]
    # and paying it issues the same refund
    paid = post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": UTR})
    assert paid.status_code == 200
    assert Refund.objects.count() == refunds_before
    assert Refund.objects.get(pk=payout.refund_id).state == "issued"
    assert [a["outcome"] for a in paid.json()["attempts"]] == ["failed", "corrected", "paid"]
    assert paid.json()["attempts"][0]["details"] == "account ••••••7890 (HDFC•••••••)"
    # nothing left to correct
    assert post(storefront_api, url, ACCOUNT).status_code == 409
    assert_invariants(cod_order)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_failed_needs_a_reason(bank_refund, finance_api, body):
    payout = bank_refund(ACCOUNT)
    r = finance_api.post(f"/api/v1/payouts/{payout.pk}/failed/", body, format="json")
    assert r.status_code == 400
    assert "reason" in str(r.json())
    assert Payout.objects.get(pk=payout.pk).state == "pending"


def test_correction_when_nothing_failed_is_a_409(bank_refund, storefront_api):
    payout = bank_refund(ACCOUNT)
    rma = payout.refund.return_request.rma
    r = storefront_api.post(f"/api/v1/returns/{rma}/payout-details/", UPI, format="json")
    assert r.status_code == 409
    assert (
        storefront_api.post(
            "/api/v1/returns/RMA-NONE/payout-details/", UPI, format="json"
        ).status_code
        == 404
    )
