"""The daily finance export counts a refund's money on the day it moved, tender
by tender, as the ledger does: a refund split between store credit (moved at
once) and a card refund Razorpay processes the next day balances on both
days, not on neither."""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from oms.dates import local_day
from orders.models import LedgerEntry
from orders.services import PaymentData
from refunds.finance_export import finance_export
from refunds.models import RefundTender

from .conftest import post_webhook, razorpay_event
from .helpers import refund_of, return_and_pass_qc

pytestmark = pytest.mark.django_db

PAY = "pay_29QQoUBi66xmFD"


def _refunds(day):
    data = finance_export(day)
    rows = [r for r in data["rows"] if r["section"] == "refunds"]
    (check,) = [c for c in data["checks"] if c["section"] == "refunds"] or [None]
    return rows, check


def _split_refund_over_two_days(
    razorpay, gateway_order, actor, anon_api, django_capture_on_commit_callbacks
):
    zone = timezone.get_default_timezone()
    day_one = datetime(2026, 11, 10, 15, 0, tzinfo=zone)
    # given an order paid 2000.00 by card through Razorpay and 1000.00 in store credit
    with time_machine.travel(day_one - timedelta(days=3), tick=False):
        order = gateway_order(
            "razorpay", PAY, extra_payments=[PaymentData("store_credit", Decimal("1000.00"))]
        )
    # and its return passes QC on day one: the store credit moves at once, the
    # card refund is accepted by Razorpay and still processing at midnight
    with (
        time_machine.travel(day_one, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    card = refund.tenders.get(instrument="card")
    credit = refund.tenders.get(instrument="store_credit")
    assert (refund.state, card.state, credit.state) == ("processing", "processing", "processed")
    # when Razorpay reports the card refund processed on day two
    with time_machine.travel(day_one + timedelta(days=1), tick=False):
        entity = razorpay.set_status(card.gateway_reference, "processed")
        body, headers = razorpay_event("refund.processed", entity, "evt_rzp_days")
        assert post_webhook(anon_api, "razorpay", body, headers).status_code == 200
    refund.refresh_from_db()
    assert refund.state == "issued"

    # then day one's export shows the store credit, balanced with the ledger
    rows, check = _refunds(local_day(day_one))
    assert [(r["instrument"], r["amount"]) for r in rows] == [("store_credit", credit.amount)]
    assert check["balanced"] is True, check
    # and day two's the card refund, balanced too
    rows, check = _refunds(local_day(day_one + timedelta(days=1)))
    assert [(r["instrument"], r["amount"]) for r in rows] == [("card", card.amount)]
    assert check["balanced"] is True, check
    return refund


def test_a_split_refund_is_counted_tender_by_tender_on_the_day_its_money_moved(
    razorpay, gateway_order, actor, anon_api, django_capture_on_commit_callbacks
):
    _split_refund_over_two_days(
        razorpay, gateway_order, actor, anon_api, django_capture_on_commit_callbacks
    )


def test_the_migration_dates_tenders_processed_before_it_by_their_ledger_rows(
    razorpay, gateway_order, actor, anon_api, django_capture_on_commit_callbacks
):
    # given the split refund above, as if processed before the field existed
    refund = _split_refund_over_two_days(
        razorpay, gateway_order, actor, anon_api, django_capture_on_commit_callbacks
    )
    moved = dict(refund.tenders.values_list("instrument", "processed_at"))
    RefundTender.objects.filter(refund=refund).update(processed_at=None)
    # when the migration's backfill runs
    importlib.import_module("refunds.migrations.0010_tender_processed_at").backfill(apps, None)
    # then each tender is dated by its own ledger row: the store credit on day
    # one (its refund was issued on day two), the card on day two
    ledger = dict(
        LedgerEntry.objects.filter(
            order=refund.order, kind__in=("refund", "store_credit")
        ).values_list("kind", "created_at")
    )
    after = dict(refund.tenders.values_list("instrument", "processed_at"))
    assert after == moved
    assert after == {"store_credit": ledger["store_credit"], "card": ledger["refund"]}
