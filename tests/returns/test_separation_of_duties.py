"""No single CX key can produce a refund alone: receipt and QC belong to the
warehouse, and a supervisor who does them is recorded as acting for it."""

from decimal import Decimal

import pytest

from orders.models import TimelineEvent
from refunds.models import Refund

from .helpers import create, event, refund_item, unit_ids, walk_to_qc

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(make_sku, make_order, deliver_order):
    make_sku("SOD-1", Decimal("500.00"), stock=5)
    order = make_order([("SOD-1", 1)])
    deliver_order(order)
    return order


def test_an_agent_key_alone_cannot_receive_pass_qc_and_refund(
    delivered, agent_api, django_capture_on_commit_callbacks
):
    # given an agent key creates a return and records the pickup
    unit = unit_ids(delivered)[0]
    r = create(agent_api, refund_item(delivered.number, unit))
    assert r.status_code == 201, r.json()
    rma = r.json()["rma"]
    assert event(agent_api, rma, {"type": "pickup_completed"}).status_code == 200
    # when the same key records the receipt and a passing QC
    with django_capture_on_commit_callbacks(execute=True):
        received = event(agent_api, rma, {"type": "received", "location": "wh-main"})
        qc = event(
            agent_api, rma, {"type": "qc_result", "results": [{"unit": unit, "passed": True}]}
        )
        inspection = agent_api.post(
            f"/api/v1/returns/{rma}/inspections/", {"unit": unit, "passed": True}, format="json"
        )
    # then each is refused and no refund exists
    assert (received.status_code, qc.status_code, inspection.status_code) == (403, 403, 403)
    assert received.json()["code"] == "permission_denied"
    assert not Refund.objects.filter(order=delivered).exists()


def test_the_warehouse_records_receipt_and_qc_as_itself(delivered, agent_api, warehouse_api):
    unit = unit_ids(delivered)[0]
    rma = create(agent_api, refund_item(delivered.number, unit)).json()["rma"]
    walk_to_qc(warehouse_api, rma, [unit])
    rows = TimelineEvent.objects.filter(
        order=delivered, type__in=["return.received", "return.qc_result"]
    )
    assert rows.exists()
    assert all("acting_for" not in r.payload for r in rows)
    assert all("acting for" not in r.actor_label for r in rows)


def test_a_supervisor_acting_for_the_warehouse_is_logged_as_such(
    delivered, agent_api, supervisor_api
):
    # given a return picked up
    unit = unit_ids(delivered)[0]
    rma = create(agent_api, refund_item(delivered.number, unit)).json()["rma"]
    # when a supervisor records the receipt and the QC
    walk_to_qc(supervisor_api, rma, [unit])
    # then the timeline names the supervisor, acting for the warehouse
    for kind in ("return.received", "return.qc_result"):
        row = TimelineEvent.objects.filter(order=delivered, type=kind).latest("pk")
        assert row.payload["acting_for"] == "warehouse", kind
        assert row.actor_label.endswith("(acting for warehouse)"), row.actor_label
        assert row.actor_user is not None
    # and the pickup, which is not the warehouse's alone, is not marked
    pickup = TimelineEvent.objects.filter(order=delivered, type="return.pickup_completed").first()
    assert pickup is None or "acting_for" not in pickup.payload
