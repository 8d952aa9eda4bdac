"""Payout details are encrypted at rest and shown in full only to finance;
the portal, the agent console, the admin, timelines, messages and the other
API bodies get them masked (issue 12)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from oms.crypto import decrypt_json
from orders.models import OutboundMessage, TimelineEvent
from refunds.models import GatewayRefund
from returns.models import Return
from tests.payouts.conftest import ACCOUNT, UPI
from tests.ui.builders import staff_user

pytestmark = pytest.mark.django_db

SECRETS = (ACCOUNT["account_number"], ACCOUNT["account_name"], UPI["upi_id"])


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_details_are_fernet_tokens_in_the_database(bank_refund):
    payout = bank_refund(ACCOUNT)
    ret = payout.refund.return_request
    for table, pk in (("returns_return", ret.pk), ("refunds_payout", payout.pk)):
        column = "payout_details" if table == "returns_return" else "details"
        raw = _raw(table, column, pk)
        assert raw.startswith("gAAAA"), raw[:10]  # a Fernet token
        _clean(raw)
        assert decrypt_json(raw) == ACCOUNT
    assert Return.objects.get(pk=ret.pk).payout_details == ACCOUNT


def test_everyone_but_finance_sees_them_masked(
    bank_refund, cod_order, storefront_api, agent_api, supervisor_api, finance_api, client, post
):
    payout = bank_refund(ACCOUNT, unit=0)
    bank_refund(UPI, unit=1)
    post(finance_api, f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "Name mismatch"})
    rma = payout.refund.return_request.rma
    # API bodies other roles read
    for api in (storefront_api, agent_api, supervisor_api):
        for url in (
            f"/api/v1/returns/{rma}/",
            f"/api/v1/orders/{cod_order.number}/",
            f"/api/v1/orders/{cod_order.number}/timeline/",
            f"/api/v1/refunds/?order={cod_order.number}",
        ):
            r = api.get(url)
            assert r.status_code == 200, url
            _clean(r.content.decode())
    # timeline rows, messages and the offline gateway's records
    for row in TimelineEvent.objects.filter(order=cod_order):
        _clean(f"{row.message} {row.payload}")
    for m in OutboundMessage.objects.filter(order=cod_order):
        _clean(f"{m.subject} {m.body}")
    for g in GatewayRefund.objects.all():
        _clean(str(g.details))
    # the agent console's order and return pages
    client.force_login(staff_user("agent-mask", "agent"))
    for url in (
        reverse("console:order", args=[cod_order.number]),
        reverse("console:return", args=[rma]),
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        _clean(r.content.decode())
    # an agent cannot open finance's page
    assert client.get(reverse("console:payouts")).status_code == 403
    # the admin, even for a superuser
    admin = get_user_model().objects.create_superuser("mask-admin", "a@example.com", "pw-12345!")
    client.force_login(admin)
    for url, masked in (
        (reverse("admin:refunds_payout_change", args=[payout.pk]), True),
        (reverse("admin:refunds_payout_changelist"), False),
        (reverse("admin:returns_return_change", args=[payout.refund.return_request_id]), True),
    ):
        r = client.get(url)
        assert r.status_code == 200, url
        _clean(r.content.decode())
        assert ("••••••7890" in r.content.decode()) is masked, url
    # finance sees them in full, in the API and the console
    listed = finance_api.get("/api/v1/payouts/").content.decode()
    assert ACCOUNT["account_number"] in listed
    assert UPI["upi_id"] in listed
    client.force_login(staff_user("finance-mask", "finance"))
    page = client.get(reverse("console:payouts") + "?state=failed").content.decode()
    assert ACCOUNT["account_number"] in page
    assert "Name mismatch" in page


def test_portal_payout_page_is_masked_and_corrects_the_details(
    bank_refund, cod_order, finance_api, post, client, mailoutbox
):
    payout = bank_refund(ACCOUNT)
    rma = payout.refund.return_request.rma
    post(finance_api, f"/api/v1/payouts/{payout.pk}/failed/", {"reason": "Account closed"})
    # the customer signs in to the portal
    client.post("/returns/", {"order_number": cod_order.number, "contact": cod_order.email})
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    assert client.post("/returns/verify/", {"code": code}).status_code == 302
    status = client.get(f"/returns/r/{rma}/").content.decode()
    assert f"/returns/r/{rma}/payout/" in status
    page = client.get(f"/returns/r/{rma}/payout/").content.decode()
    _clean(page)
    assert "••••••7890" in page
    assert "Account closed" in page
    for name in ("upi_id", "account_name", "account_number", "ifsc"):
        assert f'<label for="id_{name}"' in page
    # a bad IFSC is refused, naming it, and changes nothing
    bad = client.post(
        f"/returns/r/{rma}/payout/",
        {"account_name": "Asha Kumar", "account_number": "99887766", "ifsc": "BAD"},
    )
    assert bad.status_code == 200
    assert "IFSC" in bad.content.decode()
    assert payout.__class__.objects.get(pk=payout.pk).state == "failed"
    # good details put the payout back in finance's worklist
    ok = client.post(
        f"/returns/r/{rma}/payout/",
        {"account_name": "Asha Kumar", "account_number": "99887766", "ifsc": "icic0000123"},
    )
    assert ok.status_code == 302
    payout.refresh_from_db()
    assert payout.state == "pending"
    assert payout.details == {
        "account_name": "Asha Kumar",
        "account_number": "99887766",
        "ifsc": "ICIC0000123",
    }
    assert Return.objects.get(rma=rma).payout_details == payout.details
    _clean(client.get(f"/returns/r/{rma}/payout/?saved=1").content.decode())


def test_someone_elses_return_is_not_found_in_the_portal(bank_refund, client):
    payout = bank_refund(ACCOUNT)
    r = client.get(f"/returns/r/{payout.refund.return_request.rma}/payout/")
    assert r.status_code == 302  # to the lookup: not signed in
