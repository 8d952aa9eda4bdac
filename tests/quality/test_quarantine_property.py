"""No sequence of API calls moves a quarantined unit into sellable stock.

Hypothesis drives random sequences of stock adjustments, returns (defect and
non-defect reasons, refunds and replacements), pickups, receipts and QC
results with any disposition, then checks the ledger:
- no transfer decrements quarantine and increments sellable or reserved;
- quarantine only ever decreases by a disposition (dispose, return to
  vendor, liquidate), never by a free-form adjustment;
- sellable never exceeds what adjustments added plus restocks of
  non-defect units (minus what left it).
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inventory.models import StockMovement
from orders.models import Unit
from returns.models import ReturnItem
from returns.states import Disposition
from tests.returns.helpers import event

pytestmark = pytest.mark.django_db

REASONS = ["defective", "damaged_in_transit", "changed_mind", "size_too_small"]
DISPOSITIONS = ["", "", "", "quarantine", *Disposition.values]
SELLABLE_SIDE = {"sellable", "reserved"}

step = st.one_of(
    st.tuples(st.just("adjust"), st.sampled_from(["sellable", "quarantine"]), st.integers(-3, 3)),
    st.tuples(
        st.just("dispose"),
        st.sampled_from(["quarantine", "liquidation"]),
        st.sampled_from(["dispose", "return_to_vendor", "liquidate", "sold_off"]),
        st.integers(1, 2),
    ),
    st.tuples(
        st.just("return"),
        st.sampled_from(REASONS),
        st.sampled_from(["refund", "replacement", "repair", "partial_credit"]),
    ),
    # pickup, receipt and QC (with any result and disposition), each may be refused
    st.tuples(st.just("advance"), st.integers(0, 5), st.booleans(), st.sampled_from(DISPOSITIONS)),
    st.tuples(
        st.just("raw"),
        st.integers(0, 5),
        st.sampled_from(["pickup_completed", "received", "exchange_dispatched", "cancelled"]),
    ),
)


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=4, max_size=16))
@example(
    steps=[
        ("return", "defective", "refund"),
        ("return", "changed_mind", "refund"),
        ("advance", 0, True, ""),
        ("advance", 1, True, "restock"),
        ("advance", 0, True, "restock"),
        ("adjust", "quarantine", -1),
        ("adjust", "sellable", 2),
        ("dispose", "quarantine", "liquidate", 1),
        ("dispose", "liquidation", "sold_off", 1),
    ]
)
@example(
    steps=[
        ("return", "damaged_in_transit", "replacement"),
        ("advance", 0, True, "quarantine"),
        ("raw", 0, "exchange_dispatched"),
        ("raw", 0, "cancelled"),
    ]
)
def test_quarantine_never_reaches_sellable(
    steps, make_sku, make_order, deliver_order, storefront_api, warehouse_api, ops_api
):
    from django.db import transaction

    sid = transaction.savepoint()
    try:
        _run(steps, make_sku, make_order, deliver_order, storefront_api, warehouse_api, ops_api)
    finally:
        transaction.savepoint_rollback(sid)


def _run(steps, make_sku, make_order, deliver_order, storefront_api, warehouse_api, ops_api):
    sku = make_sku("PROP-1", Decimal("100.00"), stock=4, category="x", warranty_months=6)
    order = make_order([("PROP-1", 3)])
    deliver_order(order)
    units = list(Unit.objects.filter(order=order).order_by("pk").values_list("pk", flat=True))
    rmas: list[str] = []
    start = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    free = list(units)
    for s in steps:
        kind = s[0]
        if kind == "adjust":
            _, bucket, qty = s
            if qty:
                ops_api.post(
                    "/api/v1/stock/adjustments/",
                    {
                        "sku": sku.code,
                        "location": "wh-main",
                        "bucket": bucket,
                        "quantity": qty,
                        "reason": "count",
                    },
                    format="json",
                )
        elif kind == "dispose":
            _, bucket, disposition, qty = s
            ops_api.post(
                "/api/v1/stock/dispositions/",
                {
                    "sku": sku.code,
                    "location": "wh-main",
                    "bucket": bucket,
                    "disposition": disposition,
                    "quantity": qty,
                    "reason": "write-off",
                },
                format="json",
            )
        elif kind == "return":
            if not free:
                continue
            _, reason, resolution = s
            unit = free.pop(0)
            item = {"unit": unit, "reason": reason, "resolution": resolution}
            if reason == "defective":
                item["defect_type"] = "hardware_failure"
            r = storefront_api.post(
                "/api/v1/returns/", {"order": order.number, "items": [item]}, format="json"
            )
            if r.status_code == 201:
                rmas.append(r.json()["rma"])
            else:
                free.insert(0, unit)
        elif rmas:
            rma = rmas[s[1] % len(rmas)]
            if kind == "raw":
                event(warehouse_api, rma, {"type": s[2], "location": "wh-main"})
                continue
            _, _, passed, disposition = s
            for body in (
                {"type": "pickup_completed"},
                {"type": "received", "location": "wh-main"},
                {
                    "type": "qc_result",
                    "results": [
                        {"unit": u, "passed": passed, "disposition": disposition}
                        for u in ReturnItem.objects.filter(return_request__rma=rma).values_list(
                            "unit_id", flat=True
                        )
                    ],
                },
            ):
                event(warehouse_api, rma, body)
    _check_ledger(sku, start)


def _check_ledger(sku, start):
    moves = list(StockMovement.objects.filter(sku=sku, pk__gt=start).order_by("pk"))
    by_transfer = defaultdict(list)
    for m in moves:
        by_transfer[m.transfer_id].append(m)
    added = 0
    for rows in by_transfer.values():
        out_of_quarantine = any(m.bucket == "quarantine" and m.delta < 0 for m in rows)
        into_sellable = any(m.bucket in SELLABLE_SIDE and m.delta > 0 for m in rows)
        assert not (out_of_quarantine and into_sellable), rows
        if out_of_quarantine:
            assert all(m.reason.startswith("disposition_") for m in rows), rows
        for m in rows:
            if m.bucket != "sellable" or m.delta <= 0:
                continue
            if m.reason == "adjustment" or m.reason in ("exchange_released", "exchange_relocated"):
                added += m.delta
            elif m.reason == "qc_disposition":
                restocked = ReturnItem.objects.filter(
                    return_request__rma=m.reference, disposition="restock"
                ).select_related("reason")
                assert all(not i.reason.defect for i in restocked), m
                added += m.delta
            else:
                raise AssertionError(f"unexpected way into sellable: {m.reason}")
    from inventory.models import StockBalance

    sellable = (
        StockBalance.objects.filter(sku=sku, bucket="sellable")
        .values_list("quantity", flat=True)
        .first()
    )
    assert (sellable or 0) <= 4 + added
