"""Finance's refund queue in the console: a refund Razorpay refused is listed
with the gateway's reason per tender, and finance's retry sends it again."""

import pytest

from tests.ui.builders import staff_user

from .fake_servers import Step
from .helpers import refund_of, return_and_pass_qc

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused(razorpay, gateway_order, actor, django_capture_on_commit_callbacks):
    razorpay.script(Step(status=400))
    order = gateway_order("razorpay", "pay_29QQoUBi66xm2f")
    with django_capture_on_commit_callbacks(execute=True):
        return_and_pass_qc(order, actor)
    refund = refund_of(order)
    assert refund.state == "failed"
    return refund


def test_finance_sees_the_failed_refund_with_the_reason_and_retries_it(razorpay, refused, client):
    client.force_login(staff_user("fin-1", "finance"))
    page = client.get("/console/refunds/?state=failed")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-testid="refund-{refused.pk}"' in html
    assert "Razorpay refused the refund: scripted 400" in html
    assert f'action="/console/refunds/{refused.pk}/retry/"' in html
    # when finance retries and Razorpay accepts it this time
    r = client.post(f"/console/refunds/{refused.pk}/retry/", {"back": "failed"}, follow=True)
    # then it is processing at Razorpay, under a new key
    assert r.status_code == 200
    assert f"Refund {refused.pk} is processing." in r.content.decode()
    refused.refresh_from_db()
    assert refused.state == "processing"
    keys = [p.headers["X-Refund-Idempotency"] for p in razorpay.posts()]
    assert len(keys) == len(set(keys)) == 2
    listed = client.get("/console/refunds/?state=processing").content.decode()
    assert f'data-testid="refund-{refused.pk}"' in listed


def test_an_agent_sees_no_retry_and_may_not_post_one(razorpay, refused, client):
    client.force_login(staff_user("agent-1", "agent"))
    page = client.get("/console/refunds/?state=failed").content.decode()
    assert f'data-testid="refund-{refused.pk}"' in page
    assert "/retry/" not in page
    assert client.post(f"/console/refunds/{refused.pk}/retry/").status_code == 403
    refused.refresh_from_db()
    assert refused.state == "failed"
    assert len(razorpay.posts()) == 1
