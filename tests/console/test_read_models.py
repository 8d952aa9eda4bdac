"""The console reads a return through the shared read models (flows.read,
sla.selectors): its SLA legs, its progress and the SLA queues."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flows.read import return_detail, return_progress
from flows.return_intake import return_create
from returns.services import ItemRequest, ReturnRequest
from sla.models import Leg

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(order, actor):
    unit = order.units.order_by("pk").first()
    return return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )


def test_return_page_shows_the_sla_legs_and_the_progress_due_times(login, approved):
    leg = Leg.objects.get(return_request=approved, leg="pickup")
    page = login("agent").get(f"/console/returns/{approved.rma}/")
    assert page.status_code == 200
    assert list(page.context["sla"]) == [leg]
    assert page.context["return_request"].rma == approved.rma
    pickup = next(g for g in page.context["legs"] if g["key"] == "pickup")
    assert pickup["due"] == leg.due_at
    assert pickup["status"] == "current"
    assert page.context["legs"] == return_progress(approved)
    # the API body lists the same leg
    assert [g["leg"] for g in return_detail(approved.rma)["sla"]] == ["pickup"]


def test_queues_list_a_breached_leg_with_a_link_to_its_return(login, approved):
    Leg.objects.filter(return_request=approved, leg="pickup").update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    body = login("supervisor").get("/console/queues/?view=breached").content.decode()
    assert f'href="/console/returns/{approved.rma}/"' in body
    assert "Reverse pickup" in body
    assert "overdue 1h" in body
