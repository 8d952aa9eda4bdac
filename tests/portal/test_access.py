"""Who gets into the portal: lookup without enumeration, one-time codes,
rate limits, and refusal on every page and action for anyone unverified."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import PortalVerification

pytestmark = pytest.mark.django_db


def _lookup(client, number, contact, **extra):
    return client.post("/returns/", {"order_number": number, "contact": contact}, **extra)


def test_lookup_page_labels_every_control(client):
    # when
    r = client.get("/returns/")
    # then
    body = r.content.decode()
    assert r.status_code == 200
    assert '<label for="id_order_number">' in body
    assert '<label for="id_contact">' in body


def test_lookup_answers_the_same_whether_or_not_the_order_exists(client, order, mailoutbox):
    # when a real order and a made-up one are looked up
    real = _lookup(client, order.number, order.email)
    fake = _lookup(client, "ORD-NOPE1234", "someone@example.com")
    wrong_contact = _lookup(client, order.number, "not-the-owner@example.com")
    # then the answers are identical and only the real match gets an email
    assert (real.status_code, real["Location"]) == (fake.status_code, fake["Location"])
    assert (real.status_code, real["Location"]) == (
        wrong_contact.status_code,
        wrong_contact["Location"],
    )
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [order.email]
    assert order.number in mailoutbox[0].subject


def test_lookup_by_phone_sends_the_code_to_the_orders_email(client, order, mailoutbox):
    # when
    _lookup(client, order.number, "98123 45678")
    # then
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [order.email]


def test_only_a_hash_of_the_code_is_stored(client, order, mailoutbox):
    # when
    _lookup(client, order.number, order.email)
    # then
    code = mailoutbox[0].subject.rsplit(" ", 1)[-1]
    v = PortalVerification.objects.get()
    assert code not in v.code_hash


def test_the_right_code_opens_the_order_and_a_wrong_one_does_not(client, order, mailoutbox):
    # given
    _lookup(client, order.number, order.email)
    code = mailoutbox[0].subject.rsplit(" ", 1)[-1]
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    # when a wrong code is entered
    r = client.post("/returns/verify/", {"code": wrong})
    # then
    assert r.status_code == 200
    assert b"not right or has expired" in r.content
    assert client.get(f"/returns/orders/{order.number}/").status_code == 302
    # when the right one is entered
    r = client.post("/returns/verify/", {"code": code})
    # then
    assert r.status_code == 302
    assert r["Location"] == f"/returns/orders/{order.number}/"
    assert client.get(r["Location"]).status_code == 200


def test_a_code_stops_working_after_five_tries(client, order, mailoutbox):
    _lookup(client, order.number, order.email)
    code = mailoutbox[0].subject.rsplit(" ", 1)[-1]
    for _ in range(5):
        client.post("/returns/verify/", {"code": "000000" if code != "000000" else "111111"})
    # when the right code comes sixth
    r = client.post("/returns/verify/", {"code": code})
    # then
    assert r.status_code == 200
    assert b"not right or has expired" in r.content


def test_an_expired_code_is_refused(client, order, mailoutbox):
    _lookup(client, order.number, order.email)
    code = mailoutbox[0].subject.rsplit(" ", 1)[-1]
    PortalVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = client.post("/returns/verify/", {"code": code})
    assert r.status_code == 200
    assert b"not right or has expired" in r.content


def test_a_strangers_lookups_do_not_lock_the_customer_out(client, order, mailoutbox):
    # given a stranger who tried the customer's order number from one address
    # until refused, and from five more addresses
    stranger = [
        _lookup(client, order.number, f"guess{i}@example.com", REMOTE_ADDR="10.0.0.66").status_code
        for i in range(7)
    ]
    for i in range(5):
        _lookup(client, order.number, "guess@example.com", REMOTE_ADDR=f"10.0.1.{i}")
    # then that address is limited on that order
    assert stranger == [302] * 5 + [429, 429]
    # and the customer, from their own address, still gets a code
    sent = len(mailoutbox)
    r = _lookup(client, order.number, order.email, REMOTE_ADDR="192.0.2.10")
    assert r.status_code == 302
    assert len(mailoutbox) == sent + 1
    assert mailoutbox[-1].to == [order.email]


def test_lookups_are_rate_limited_per_ip(client, order):
    codes = [_lookup(client, f"ORD-GUESS{i:03d}", "x@example.com").status_code for i in range(6)]
    assert codes == [302] * 5 + [429]
    assert b"Too many attempts" in _lookup(client, order.number, order.email).content


PAGES = [
    "/returns/orders/",
    "/returns/orders/{number}/",
    "/returns/orders/{number}/return/",
    "/returns/orders/{number}/return/?all=1",
    "/returns/r/{rma}/",
]
ACTIONS = [
    "/returns/orders/{number}/return/",
    "/returns/orders/{number}/quote/",
]


@pytest.fixture
def rma(order, actor):
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    unit = order.units.order_by("pk").first()
    return return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    ).rma


@pytest.mark.parametrize("page", PAGES)
def test_unverified_customer_is_sent_to_the_lookup_from_every_page(client, order, rma, page):
    r = client.get(page.format(number=order.number, rma=rma))
    assert r.status_code == 302
    assert r["Location"].startswith("/returns/?next=")


@pytest.mark.parametrize("action", ACTIONS)
def test_unverified_customer_is_refused_every_action(client, order, action):
    # when an unverified client posts a return for the order
    unit = order.units.order_by("pk").first()
    r = client.post(
        action.format(number=order.number),
        {f"unit_{unit.pk}": "on", f"reason_{unit.pk}": "changed_mind", "refund_method": "original"},
    )
    # then it is refused and nothing is created
    assert r.status_code == 403
    assert not order.returns.exists()


def test_a_pending_code_is_not_verification(client, order, rma):
    # given a lookup without the code
    _lookup(client, order.number, order.email)
    # then every page is still closed
    for page in PAGES:
        assert client.get(page.format(number=order.number, rma=rma)).status_code == 302
    assert client.post(f"/returns/orders/{order.number}/quote/").status_code == 403


def test_htmx_request_without_verification_gets_403(client, order):
    r = client.get(f"/returns/orders/{order.number}/", HTTP_HX_REQUEST="true")
    assert r.status_code == 403


def test_verified_customer_gets_404_for_another_customers_order_and_return(
    verified, other_order, actor
):
    from flows.return_intake import return_create
    from returns.services import ItemRequest, ReturnRequest

    unit = other_order.units.order_by("pk").first()
    their = return_create(
        ReturnRequest(
            order=other_order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )
    n = other_order.number
    assert verified.get(f"/returns/orders/{n}/").status_code == 404
    assert verified.get(f"/returns/orders/{n}/return/").status_code == 404
    assert verified.get(f"/returns/r/{their.rma}/").status_code == 404
    unit2 = other_order.units.order_by("pk").last()
    r = verified.post(
        f"/returns/orders/{n}/return/",
        {
            f"unit_{unit2.pk}": "on",
            f"reason_{unit2.pk}": "changed_mind",
            "refund_method": "original",
        },
    )
    assert r.status_code == 404
    assert verified.post(f"/returns/orders/{n}/quote/").status_code == 404
    assert other_order.returns.count() == 1
    # and their order is not listed
    assert n.encode() not in verified.get("/returns/orders/").content


def test_sign_out_closes_the_portal(verified, order):
    verified.post("/returns/sign-out/")
    assert verified.get(f"/returns/orders/{order.number}/").status_code == 302
