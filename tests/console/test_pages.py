"""What agents and supervisors do in the console, through the same services
as the API."""

import pytest

from orders.models import ContactLog
from returns.models import Return

pytestmark = pytest.mark.django_db


def test_search_by_number_rma_email_and_phone(login, order, held):
    c = login("agent")
    assert c.get(f"/console/?q={order.number}")["Location"] == f"/console/orders/{order.number}/"
    assert c.get(f"/console/?q={held.rma.lower()}")["Location"] == f"/console/returns/{held.rma}/"
    assert order.number.encode() in c.get("/console/?q=ASHA.RAO@example.com").content
    assert order.number.encode() in c.get("/console/?q=98123 45678").content
    assert b"No order matches" in c.get("/console/?q=nobody@example.com").content


def test_order_page_shows_units_in_words_and_one_timeline(login, order, held):
    body = login("agent").get(f"/console/orders/{order.number}/").content.decode()
    assert "Delivered" in body
    assert "Return requested" in body
    for kind in ("order.created", "shipment.delivered", "unit.transition", "return.created"):
        assert kind in body
    assert held.rma in body


def test_contact_log_writes_a_row_and_a_timeline_event(login, order):
    c = login("agent")
    r = c.post(
        f"/console/orders/{order.number}/contacts/",
        {"channel": "phone", "summary": "Asked where the refund is", "resolved": "on"},
    )
    assert r.status_code == 302
    contact = ContactLog.objects.get()
    assert contact.resolved
    assert contact.user.username == "agent-user"
    assert order.events.filter(type="contact.logged", actor_kind="staff").exists()


def test_root_cause_tag(login, held):
    c = login("agent")
    c.post(f"/console/returns/{held.rma}/root-cause/", {"root_cause": "sizing"})
    held.refresh_from_db()
    assert held.root_cause == "sizing"
    assert held.order.events.filter(type="return.root_cause_tagged").exists()
    r = c.post(f"/console/returns/{held.rma}/root-cause/", {"root_cause": "made-up"})
    assert r.status_code == 302
    held.refresh_from_db()
    assert held.root_cause == "sizing"


def test_supervisor_approves_a_held_return(login, held):
    c = login("supervisor")
    page = c.get(f"/console/returns/{held.rma}/").content.decode()
    assert "Approve" in page
    assert "Reject" in page
    c.post(f"/console/returns/{held.rma}/approve/", {"note": "Known customer"})
    held.refresh_from_db()
    assert held.state == "approved"
    assert held.reviewed_by.username == "supervisor-user"
    # a second approval is a conflict, shown as a message
    r = c.post(f"/console/returns/{held.rma}/approve/", {"note": ""}, follow=True)
    assert b"not waiting for review" in r.content


def test_supervisor_rejects_a_held_return(login, held):
    login("supervisor").post(
        f"/console/returns/{held.rma}/reject/",
        {"reason": "return_pattern", "note": "Abuse", "confirm": "on"},
    )
    held.refresh_from_db()
    assert held.state == "rejected"


def test_supervisor_modifies_lines_of_a_held_return(login, order, actor):
    from tests.ui.builders import held_return

    units = list(order.units.order_by("pk").values_list("pk", flat=True))
    ret = held_return(order, units[1:], actor)
    c = login("supervisor")
    r = c.post(f"/console/returns/{ret.rma}/modify/", {"keep": [units[1]]})
    ret.refresh_from_db()
    assert ret.state == "cancelled"
    new = Return.objects.exclude(pk=ret.pk).get(order=order)
    assert list(new.items.values_list("unit_id", flat=True)) == [units[1]]
    assert new.channel == "console"
    assert r["Location"] == f"/console/returns/{new.rma}/"


def test_events_walk_a_return_to_qc(login, order, actor):
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    unit = order.units.order_by("pk").first()
    ret = return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )
    c = login("agent")
    c.post(f"/console/returns/{ret.rma}/events/", {"type": "pickup_completed"})
    # an agent may not record the receipt: that is the warehouse's
    r = c.post(f"/console/returns/{ret.rma}/events/", {"type": "received", "location": "wh-main"})
    assert r.status_code == 403
    assert b'value="received"' not in c.get(f"/console/returns/{ret.rma}/").content
    unit.refresh_from_db()
    assert unit.state == "return_in_transit"
    c = login("warehouse")
    c.post(f"/console/returns/{ret.rma}/events/", {"type": "received", "location": "wh-main"})
    assert ret.rma.encode() in c.get("/console/queues/").content
    c.post(
        f"/console/returns/{ret.rma}/events/",
        {"type": "qc_result", f"u{unit.pk}-passed": "1", f"u{unit.pk}-disposition": "restock"},
    )
    unit.refresh_from_db()
    assert unit.state in ("pending_refund", "refunded")
    assert order.events.filter(type="return.qc_result", actor_kind="staff").exists()


def test_agent_creates_a_return_through_the_wizard(login, order):
    c = login("agent")
    u = {x.sku.code: x for x in order.units.select_related("sku")}
    url = f"/console/orders/{order.number}/return/"
    r = c.post(f"{url}?step=classify", {"case": "fit", "units": [u["TEE-M"].pk, u["CHN-32"].pk]})
    assert r["Location"].endswith("?step=eligibility")
    assert b"Eligible" in c.get(r["Location"]).content
    r = c.post(f"{url}?step=eligibility", {})
    assert r["Location"].endswith("?step=resolution")
    r = c.post(
        f"{url}?step=resolution",
        {
            f"reason_{u['TEE-M'].pk}": "size_too_small",
            f"resolution_{u['TEE-M'].pk}": "exchange",
            f"exchange_{u['TEE-M'].pk}": "TEE-L",
            f"reason_{u['CHN-32'].pk}": "size_too_large",
            f"resolution_{u['CHN-32'].pk}": "refund",
            "refund_method": "original",
        },
    )
    assert r["Location"].endswith("?step=review")
    review = c.get(r["Location"]).content.decode()
    assert "Below the escalation threshold" in review
    r = c.post(f"{url}?step=review")
    ret = Return.objects.get(order=order)
    assert r["Location"] == f"/console/returns/{ret.rma}/"
    assert ret.channel == "console"
    assert ret.state == "approved"
    assert ret.order.events.filter(type="return.created", actor_label="agent-user").exists()


def test_wizard_warns_of_escalation(login, order):
    from tests.ui.builders import strict_policy

    strict_policy()
    c = login("agent")
    unit = order.units.select_related("sku").get(sku__code="CHN-32")
    url = f"/console/orders/{order.number}/return/"
    c.post(f"{url}?step=classify", {"case": "changed_mind", "units": [unit.pk]})
    c.post(f"{url}?step=eligibility", {})
    c.post(
        f"{url}?step=resolution",
        {
            f"reason_{unit.pk}": "changed_mind",
            f"resolution_{unit.pk}": "refund",
            "refund_method": "original",
        },
    )
    assert b"Escalation:" in c.get(f"{url}?step=review").content
    c.post(f"{url}?step=review")
    assert Return.objects.get(order=order).state == "pending_review"


def test_supervisor_overrides_eligibility(login, make_sku, make_order, deliver_order):
    make_sku("BRF-M", product="briefs", returnable=False, stock=5)
    o = make_order([("BRF-M", 1)])
    deliver_order(o)
    unit = o.units.get()
    c = login("supervisor")
    url = f"/console/orders/{o.number}/return/"
    c.post(f"{url}?step=classify", {"case": "changed_mind", "units": [unit.pk]})
    assert b"not returnable" in c.get(f"{url}?step=eligibility").content
    r = c.post(f"{url}?step=eligibility", {"override": "on", "override_note": ""})
    assert b"Say why you override" in r.content
    r = c.post(f"{url}?step=eligibility", {"override": "on", "override_note": "goodwill"})
    assert r["Location"].endswith("?step=resolution")
    c.post(
        f"{url}?step=resolution",
        {
            f"reason_{unit.pk}": "changed_mind",
            f"resolution_{unit.pk}": "refund",
            "refund_method": "original",
        },
    )
    c.post(f"{url}?step=review")
    assert Return.objects.filter(order=o, channel="console").exists()


def test_queues_and_dashboard_render(login, held):
    c = login("supervisor")
    q = c.get("/console/queues/").content.decode()
    assert held.rma in q
    assert "Waiting for review" in q
    d = c.get("/console/dashboard/")
    assert d.status_code == 200
    body = d.content.decode()
    for title in (
        "Refunds by state",
        "Reasons mix",
        "Return rate per SKU",
        "Refund latency",
        "Value kept by exchanges",
    ):
        assert title in body
