"""Finance's reads (issue 12, Finance): credit notes in the API and the admin,
and the daily export whose sections reconcile to the ledger."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from oms.dates import day_bounds, local_day
from orders.models import LedgerEntry
from refunds.finance_export import SECTIONS, Section, finance_export
from refunds.models import CreditNote, Refund
from tests.payouts.conftest import ACCOUNT
from tests.returns.helpers import create, refund_item, unit_ids, walk_to_qc
from tests.ui.builders import staff_user

pytestmark = pytest.mark.django_db

UTR = "HDFCN52026120199"


@pytest.fixture
def day_of_money(
    bank_refund,
    cod_order,
    make_sku,
    make_order,
    deliver_order,
    storefront_api,
    warehouse_api,
    finance_api,
    post,
    django_capture_on_commit_callbacks,
):
    """Today: a card refund, a store-credit refund, a bank payout paid and
    one still pending. Returns the brand's day."""
    make_sku("SHIRT", Decimal("1299.00"), stock=5)
    card = make_order([("SHIRT", 1)])
    deliver_order(card)
    with django_capture_on_commit_callbacks(execute=True):
        u = unit_ids(card)[0]
        rma = create(storefront_api, refund_item(card.number, u)).json()["rma"]
        walk_to_qc(warehouse_api, rma, [u])
        u2 = unit_ids(cod_order)[1]
        r = create(storefront_api, refund_item(cod_order.number, u2, refund_method="store_credit"))
        walk_to_qc(warehouse_api, r.json()["rma"], [u2])
    paid = bank_refund(ACCOUNT, unit=0)
    assert post(finance_api, f"/api/v1/payouts/{paid.pk}/paid/", {"utr": UTR}).status_code == 200
    return local_day(timezone.now())


def _csv(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_credit_notes_are_readable_by_finance(day_of_money, finance_api, client):
    notes = finance_api.get("/api/v1/credit-notes/").json()
    assert notes["count"] == CreditNote.objects.count() == 3
    first = notes["results"][0]
    assert {"number", "order", "rma", "taxable_total", "tax_total", "total", "lines"} <= set(first)
    one = finance_api.get(f"/api/v1/credit-notes/{first['number']}/")
    assert one.status_code == 200
    assert one.json()["total"] == first["total"]
    assert finance_api.get("/api/v1/credit-notes/CN-NONE/").status_code == 404
    by_order = finance_api.get(f"/api/v1/credit-notes/?order={first['order']}").json()
    assert {n["order"] for n in by_order["results"]} == {first["order"]}
    # and in the admin (403 before issue 12)
    client.force_login(staff_user("finance-cn", "finance"))
    assert client.get(reverse("admin:refunds_creditnote_changelist")).status_code == 200
    note = CreditNote.objects.first()
    assert client.get(reverse("admin:refunds_creditnote_change", args=[note.pk])).status_code == 200


def test_daily_export_reconciles_to_the_ledger(day_of_money, finance_api):
    rows = _csv(finance_api.get(f"/api/v1/finance/export.csv?date={day_of_money}"))
    by_section = defaultdict(list)
    for row in rows:
        by_section[row["section"]].append(row)
    assert set(by_section) == {
        "refunds",
        "credit_notes",
        "payouts",
        "store_credit",
        "reconciliation",
    }
    # the store credit refunded is a movement of the customer's wallet
    assert [(r["kind"], r["amount"]) for r in by_section["store_credit"]] == [("refund", "750.00")]
    start, end = day_bounds(day_of_money)
    ledger = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    out = ledger.filter(kind__in=["refund", "store_credit", "payout"]).aggregate(s=Sum("amount"))[
        "s"
    ]
    refunds = sum(Decimal(r["amount"]) for r in by_section["refunds"])
    # the refunds section is the ledger's money out, tender by tender...
    assert refunds == out == Decimal("1299.00") + Decimal("750.00") + Decimal("750.00")
    assert {r["instrument"] for r in by_section["refunds"]} == {
        "card",
        "store_credit",
        "bank_transfer",
    }
    payout_row = next(r for r in by_section["refunds"] if r["instrument"] == "bank_transfer")
    assert (payout_row["reference"], payout_row["state"]) == (UTR, "paid")
    # ...and the refund rows: every issued refund, each credit note's total
    issued = Refund.objects.filter(state="issued").aggregate(s=Sum("amount"))["s"]
    notes = sum(Decimal(r["amount"]) for r in by_section["credit_notes"])
    assert refunds == issued == notes
    # the payouts section counts the paid ones; they equal the ledger's payouts
    paid = [r for r in by_section["payouts"] if r["kind"] == "paid"]
    assert [Decimal(r["amount"]) for r in paid] == [Decimal("750.00")]
    assert "001234567890" not in str(by_section["payouts"])
    # and the closing rows say so
    checks = {r["document"]: r for r in by_section["reconciliation"]}
    assert checks["refunds"]["state"] == "balanced"
    assert checks["refunds"]["amount"] == checks["refunds"]["ledger_amount"] == f"{refunds:.2f}"
    assert checks["payouts"]["state"] == "balanced"
    assert checks["payouts"]["amount"] == "750.00"


def test_a_day_without_money_is_empty_and_balanced(day_of_money, finance_api):
    rows = _csv(
        finance_api.get(f"/api/v1/finance/export.csv?date={day_of_money - timedelta(days=1)}")
    )
    assert rows == []


@pytest.mark.parametrize("query", ["", "?date=", "?date=2026-13-01", "?date=yesterday"])
def test_export_needs_a_date(finance_api, query):
    r = finance_api.get(f"/api/v1/finance/export.csv{query}")
    assert r.status_code == 400
    assert r.json()["extra"]["field"] == "date"


def test_the_day_is_the_brands_day(bank_refund, finance_api, post):
    payout = bank_refund(ACCOUNT)
    # paid at 00:15 IST on 2 Dec, when UTC still says 1 Dec
    with time_machine.travel("2026-12-01T18:45:00Z", tick=False):
        assert (
            post(finance_api, f"/api/v1/payouts/{payout.pk}/paid/", {"utr": UTR}).status_code == 200
        )
    on_2nd = _csv(finance_api.get("/api/v1/finance/export.csv?date=2026-12-02"))
    on_1st = _csv(finance_api.get("/api/v1/finance/export.csv?date=2026-12-01"))
    assert [r["section"] for r in on_2nd].count("refunds") == 1
    assert all(r["section"] != "refunds" for r in on_1st)
    assert next(r for r in on_2nd if r["section"] == "refunds")["at"].startswith("2026-12-02T00:15")


def test_management_command_writes_the_same_file(day_of_money, finance_api, tmp_path):
    target = tmp_path / "finance.csv"
    call_command("finance_export", date=str(day_of_money), output=str(target))
    api = finance_api.get(f"/api/v1/finance/export.csv?date={day_of_money}").content.decode()
    assert list(csv.reader(io.StringIO(target.read_text()))) == list(csv.reader(io.StringIO(api)))


def test_sections_are_a_list_a_new_kind_of_money_plugs_into(day_of_money):
    """Store-credit movements or recoveries come later as one more Section."""

    def extra_rows(start, end):
        yield {"amount": Decimal("10.00"), "currency": "INR", "kind": "goodwill"}

    data = finance_export(day_of_money, [*SECTIONS, Section("store_credit_movements", extra_rows)])
    assert [r for r in data["rows"] if r["section"] == "store_credit_movements"]
    assert all(c["balanced"] for c in data["checks"])


def test_only_finance_reads_payouts_and_exports(agent_api, supervisor_api, ops_api):
    for api in (agent_api, supervisor_api, ops_api):
        for url in (
            "/api/v1/payouts/",
            "/api/v1/payouts/export.csv",
            "/api/v1/credit-notes/",
            "/api/v1/finance/export.csv?date=2026-12-01",
        ):
            assert api.get(url).status_code == 403, url
