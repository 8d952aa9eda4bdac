"""The work queue: owners, customer, value, SLA countdown, filters, saved views."""

from datetime import timedelta

import pytest
from django.utils import timezone

from console.queue import countdown
from flows.return_intake import return_create
from returns.services import ItemRequest, ReturnRequest
from sla.models import Leg

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_return(order, actor):
    unit = order.units.select_related("sku").get(sku__code="CHN-32")
    return return_create(
        ReturnRequest(
            order=order.number,
            refund_method="store_credit",
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )


def test_countdown_words():
    assert countdown(2 * 86400 + 3 * 3600 + 5) == "2d 3h left"
    assert countdown(45 * 60) == "45m left"
    assert countdown(-5 * 3600) == "overdue 5h 0m"
    assert countdown(None) == "—"


def test_queue_row_shows_customer_value_leg_and_time_left(login, open_return):
    r = login("agent").get("/console/queues/")
    body = r.content.decode()
    row = next(x for x in r.context["rows"] if x.ret.pk == open_return.pk)
    assert row.leg.leg == "pickup"
    assert row.value == open_return.items.get().unit.net_paid
    assert "Asha Rao" in body
    assert "Reverse pickup" in body
    assert row.left.endswith("left")


def test_assign_to_me_then_my_queue_and_to_another_agent(login, open_return):
    from tests.ui.builders import staff_user

    other = staff_user("ravi.agent", "agent")
    c = login("agent", username="meera")
    assert open_return.rma not in c.get("/console/queues/?view=mine").content.decode()
    c.post(
        f"/console/returns/{open_return.rma}/assign/",
        {"assignee": ["me", ""], "next": "/console/queues/?view=mine"},
    )
    open_return.refresh_from_db()
    assert open_return.assignee.username == "meera"
    assert open_return.rma in c.get("/console/queues/?view=mine").content.decode()
    assert open_return.order.events.filter(type="return.assigned").count() == 1
    c.post(f"/console/returns/{open_return.rma}/assign/", {"assignee": str(other.pk)})
    open_return.refresh_from_db()
    assert open_return.assignee == other
    mine = c.get("/console/queues/?view=mine").context["rows"]
    assert open_return.pk not in [row.ret.pk for row in mine]
    # a customer-facing account cannot own a case
    r = c.post(f"/console/returns/{open_return.rma}/assign/", {"assignee": "999999"}, follow=True)
    assert b"Choose an agent from the list." in r.content


def test_at_risk_and_breached_views_and_filters(login, open_return):
    c = login("agent")
    leg = Leg.objects.get(return_request=open_return, leg="pickup")
    assert open_return.rma not in c.get("/console/queues/?view=breached").content.decode()
    now = timezone.now()
    Leg.objects.filter(pk=leg.pk).update(
        at_risk_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1)
    )
    r = c.get("/console/queues/?view=breached")
    assert open_return.rma in r.content.decode()
    assert "overdue 1h" in r.content.decode()
    assert open_return.rma not in c.get("/console/queues/?view=at_risk").content.decode()
    Leg.objects.filter(pk=leg.pk).update(due_at=now + timedelta(hours=1))
    assert open_return.rma in c.get("/console/queues/?view=at_risk").content.decode()
    # filters
    assert open_return.rma in c.get("/console/queues/?leg=pickup").content.decode()
    assert open_return.rma not in c.get("/console/queues/?leg=qc").content.decode()
    assert open_return.rma not in c.get("/console/queues/?type=exchange").content.decode()
    assert open_return.rma in c.get("/console/queues/?type=partial_return").content.decode()
    assert open_return.rma not in c.get("/console/queues/?age=3").content.decode()
    assert open_return.rma not in c.get("/console/queues/?channel=nope").content.decode()
    assert c.get("/console/queues/?sort=value").status_code == 200
