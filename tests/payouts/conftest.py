"""A cash-on-delivery order refunded to a bank account or UPI id, walked
through the API to the point where finance has a payout to make."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refunds.models import Payout
from tests.returns.helpers import create, refund_item, unit_ids, walk_to_qc

ACCOUNT = {"account_name": "Asha Kumar", "account_number": "001234567890", "ifsc": "HDFC0001234"}
UPI = {"upi_id": "asha.k@okhdfc"}


@pytest.fixture
def cod_order(make_sku, make_order, deliver_order):
    make_sku("KURTA", Decimal("750.00"), stock=5)
    order = make_order([("KURTA", 2)], cod=True)
    deliver_order(order)
    return order


@pytest.fixture
def bank_refund(cod_order, storefront_api, warehouse_api, django_capture_on_commit_callbacks):
    """make(details=ACCOUNT, unit=0): a bank/UPI return of one kurta, received
    and passed; its refund is awaiting the payout. Returns the Payout."""

    def make(details=ACCOUNT, unit=0) -> Payout:
        uid = unit_ids(cod_order)[unit]
        with django_capture_on_commit_callbacks(execute=True):
            r = create(
                storefront_api,
                refund_item(cod_order.number, uid, refund_method="bank_transfer", payout=details),
            )
            assert r.status_code == 201, r.json()
            walk_to_qc(warehouse_api, r.json()["rma"], [uid])
        return Payout.objects.get(refund__return_request__rma=r.json()["rma"])

    return make


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """post(api, url, body): a POST whose after-commit work runs."""

    def call(api, url, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(url, body or {}, format="json")

    return call
