"""Every console page and action refuses whoever lacks the right: anonymous
users go to the login page, others get 403, and nothing changes."""

import pytest

from orders.models import ContactLog
from returns.models import Return

pytestmark = pytest.mark.django_db

PAGES = [
    "/console/",
    "/console/?q={number}",
    "/console/orders/{number}/",
    "/console/orders/{number}/return/",
    "/console/returns/{rma}/",
    "/console/queues/",
    "/console/dashboard/",
]
ACTIONS = [
    "/console/orders/{number}/contacts/",
    "/console/orders/{number}/return/",
    "/console/returns/{rma}/approve/",
    "/console/returns/{rma}/reject/",
    "/console/returns/{rma}/modify/",
    "/console/returns/{rma}/root-cause/",
    "/console/returns/{rma}/events/",
]


def _fmt(path, order, held):
    return path.format(number=order.number, rma=held.rma)


def _post_body(order, held):
    return {
        "summary": "asked",
        "channel": "phone",
        "note": "x",
        "keep": [],
        "root_cause": "sizing",
        "type": "pickup_completed",
        "case": "fit",
        "units": [str(order.units.first().pk)],
    }


def _unchanged(order, held):
    held.refresh_from_db()
    return (
        held.state == "pending_review" and not held.root_cause and not ContactLog.objects.exists()
    )


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login_from_every_page(client, order, held, path):
    r = client.get(_fmt(path, order, held))
    assert r.status_code == 302
    assert r["Location"].startswith("/console/login/?next=")


@pytest.mark.parametrize("path", ACTIONS)
def test_anonymous_cannot_act(client, order, held, path):
    r = client.post(_fmt(path, order, held), _post_body(order, held))
    assert r.status_code == 302
    assert r["Location"].startswith("/console/login/")
    assert _unchanged(order, held)


@pytest.mark.parametrize(
    ("role", "is_staff"), [(None, True), ("agent", False), ("storefront", True)]
)
@pytest.mark.parametrize("path", PAGES)
def test_non_console_users_get_403_on_every_page(login, order, held, path, role, is_staff):
    c = login(role, is_staff=is_staff)
    assert c.get(_fmt(path, order, held)).status_code == 403


@pytest.mark.parametrize(("role", "is_staff"), [(None, True), ("agent", False)])
@pytest.mark.parametrize("path", ACTIONS)
def test_non_console_users_get_403_on_every_action(login, order, held, path, role, is_staff):
    c = login(role, is_staff=is_staff)
    assert c.post(_fmt(path, order, held), _post_body(order, held)).status_code == 403
    assert _unchanged(order, held)


def test_non_staff_cannot_sign_in(client, db):
    from tests.ui.builders import staff_user

    staff_user("shopper", "agent", is_staff=False)
    r = client.post("/console/login/", {"username": "shopper", "password": "pw-12345!"})
    assert r.status_code == 200
    assert b"cannot use the agent console" in r.content


def test_agent_signs_in_and_lands_on_search(client, db):
    from tests.ui.builders import staff_user

    staff_user("agent1", "agent")
    r = client.post("/console/login/", {"username": "agent1", "password": "pw-12345!"})
    assert r.status_code == 302
    assert r["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


@pytest.mark.parametrize("action", ["approve", "reject", "modify"])
def test_agent_cannot_decide_a_held_return(login, order, held, action):
    c = login("agent")
    # the page offers no buttons
    page = c.get(f"/console/returns/{held.rma}/").content.decode()
    assert "/approve/" not in page
    assert "A supervisor decides this return." in page
    # and a forged POST is refused
    r = c.post(f"/console/returns/{held.rma}/{action}/", {"note": "ok", "keep": []})
    assert r.status_code == 403
    held.refresh_from_db()
    assert held.state == "pending_review"


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("finance", "/console/orders/{number}/return/"),
        ("finance", "/console/orders/{number}/contacts/"),
        ("finance", "/console/returns/{rma}/events/"),
        ("finance", "/console/returns/{rma}/root-cause/"),
        ("ops", "/console/orders/{number}/contacts/"),
        ("ops", "/console/returns/{rma}/approve/"),
        ("warehouse", "/console/returns/{rma}/root-cause/"),
    ],
)
def test_roles_without_the_permission_get_403(login, order, held, role, path):
    c = login(role)
    assert c.post(_fmt(path, order, held), _post_body(order, held)).status_code == 403
    assert _unchanged(order, held)


def test_finance_sees_the_ledger_and_agents_do_not(login, order):
    assert b"Reconciles" in login("finance").get(f"/console/orders/{order.number}/").content
    assert (
        b"Reconciles"
        not in login("agent", username="a2").get(f"/console/orders/{order.number}/").content
    )


def test_agent_cannot_override_eligibility(login, order, make_sku, make_order, deliver_order):
    # given an order of a non-returnable SKU
    make_sku("BRF-M", product="briefs", returnable=False, stock=5)
    o = make_order([("BRF-M", 1)])
    deliver_order(o)
    unit = o.units.get()
    c = login("agent")
    c.post(
        f"/console/orders/{o.number}/return/?step=classify",
        {"case": "changed_mind", "units": [unit.pk]},
    )
    # the page says a supervisor is needed
    page = c.get(f"/console/orders/{o.number}/return/?step=eligibility").content.decode()
    assert "Only a supervisor can override eligibility" in page
    # when the agent forges the override
    r = c.post(
        f"/console/orders/{o.number}/return/?step=eligibility",
        {"override": "on", "override_note": "customer is upset"},
    )
    # then
    assert r.status_code == 403
    assert not Return.objects.filter(order=o).exists()
