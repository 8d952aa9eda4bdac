"""Payout details stored in clear before issue 12 are encrypted by a data
migration (and decrypted back when it is reversed); the offline gateway's
copies are masked."""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from oms.crypto import decrypt_json
from refunds.models import GatewayRefund
from returns.models import Return
from tests.payouts.conftest import ACCOUNT

BEFORE = [("returns", "0007_inspect_return_permission")]


def _raw(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT payout_details FROM returns_return WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="a round trip back to returns 0007 unapplies every later branch of the merged "
    "migration graph; SQLite's table rebuilds cannot reverse it (runs on PostgreSQL in CI)",
)
@pytest.mark.django_db(transaction=True)
def test_plaintext_details_are_encrypted_by_the_migration(bank_refund):
    ret = bank_refund(ACCOUNT).refund.return_request
    # every app's latest migration: going back to returns 0007 also unapplies
    # later migrations of other apps that depend on it (refunds'), which the
    # rest of the suite's schema needs
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        # back to before: the details are plaintext JSON again
        _migrate(BEFORE)
        raw = _raw(ret.pk)
        assert json.loads(raw) == ACCOUNT if isinstance(raw, str) else raw == ACCOUNT
        # forward: a Fernet token that opens to the same details
    finally:
        _migrate(leaf)
    token = _raw(ret.pk)
    assert token.startswith("gAAAA")
    assert ACCOUNT["account_number"] not in token
    assert decrypt_json(token) == ACCOUNT
    assert Return.objects.get(pk=ret.pk).payout_details == ACCOUNT


@pytest.mark.django_db
def test_the_offline_gateways_copies_are_masked():
    row = GatewayRefund.objects.create(
        gateway="offline",
        idempotency_key="k-1",
        instrument="bank_transfer",
        amount="10.00",
        reference="OFF-1",
        details=dict(ACCOUNT),
    )
    migration = importlib.import_module("refunds.migrations.0005_gateway_refund_details_masked")
    migration.mask_copies(apps, None)
    row.refresh_from_db()
    assert row.details == {
        "account_name": "A•••• K••••",
        "account_number": "••••••7890",
        "ifsc": "HDFC•••••••",
    }
