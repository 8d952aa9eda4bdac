"""``manage.py jobs_recover`` queues the work an older version lost."""

from io import StringIO

import pytest
from django.core.management import call_command

from intake.models import WebhookDelivery
from oms.models import Job
from orders.models import Unit
from refunds.models import Refund

pytestmark = pytest.mark.django_db


def _recover() -> str:
    out = StringIO()
    call_command("jobs_recover", stdout=out)
    return out.getvalue().strip()


def test_recover_queues_a_job_for_each_pending_refund_and_unprocessed_delivery_once(
    make_order, storefront_api
):
    from intake.services import channel_upsert

    # given a pending refund and a received delivery whose jobs were lost
    order = make_order([("LAMP-1", 2)])
    unit = Unit.objects.filter(order=order).order_by("pk").first()
    r = storefront_api.post(
        f"/api/v1/orders/{order.number}/cancel/",
        {"units": [unit.pk], "reason": "customer asked"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    refund = Refund.objects.get(order=order, state="pending")
    channel, _ = channel_upsert(
        code="shop", name="Shop", platform="shopify", webhook_secret="s", unknown_sku="create"
    )
    delivery = WebhookDelivery.objects.create(
        channel=channel, platform="shopify", topic="shop/update", delivery_id="d-1", body=b"{}"
    )
    Job.objects.all().delete()
    # when ops run the command twice
    first, second = _recover(), _recover()
    # then each got one job, the second run adding none
    assert (first, second) == ("2 job(s) queued", "0 job(s) queued")
    assert sorted(Job.objects.values_list("task", "args")) == [
        ("intake.tasks.delivery_process_task", [delivery.pk]),
        ("refunds.tasks.refund_issue_task", [refund.pk]),
    ]
