"""Account takeover through a reused phone number: an order with a new email
and someone else's phone must not take over that person's customer, and a
portal session sees only orders carrying the address its code was sent to."""

import pytest

from flows.return_intake import return_create
from orders.models import Customer, Order
from returns.services import ItemRequest, ReturnRequest
from tests.security.conftest import portal_sign_in
from tests.ui.builders import CUSTOMER, three_item_order

pytestmark = pytest.mark.django_db

ATTACKER_EMAIL = "mallory@evil.example"


def _attacker_order(make_sku, make_order, deliver_order):
    return three_item_order(
        make_sku,
        make_order,
        deliver_order,
        customer={"email": ATTACKER_EMAIL, "phone": CUSTOMER["phone"], "name": "Mallory"},
    )


def _return_for(order, actor):
    unit = order.units.order_by("pk").first()
    return return_create(
        ReturnRequest(
            order=order.number,
            items=[ItemRequest(unit=unit.pk, reason="changed_mind", resolution="refund")],
        ),
        actor=actor,
    )


def test_order_with_victims_phone_does_not_take_over_victims_account(
    client, victim_order, make_sku, make_order, deliver_order, mailoutbox, actor
):
    victim = victim_order.customer
    their_return = _return_for(victim_order, actor)
    # when an attacker orders with their own email and the victim's phone
    attacker_order = _attacker_order(make_sku, make_order, deliver_order)
    # then the victim's customer keeps its email and the attacker gets another
    victim.refresh_from_db()
    assert victim.email == CUSTOMER["email"]
    assert victim.phone == CUSTOMER["phone"]
    assert attacker_order.customer_id != victim.pk
    assert attacker_order.customer.email == ATTACKER_EMAIL
    # and the attacker's verified session cannot open the victim's order
    mail = portal_sign_in(client, attacker_order, ATTACKER_EMAIL, mailoutbox)
    assert mail.to == [ATTACKER_EMAIL]
    assert client.get(f"/returns/orders/{attacker_order.number}/").status_code == 200
    assert client.get(f"/returns/orders/{victim_order.number}/").status_code == 404
    assert client.get(f"/returns/orders/{victim_order.number}/return/").status_code == 404
    assert client.get(f"/returns/r/{their_return.rma}/").status_code == 404
    assert victim_order.number not in client.get("/returns/orders/").content.decode()


def test_portal_shows_only_orders_with_the_verified_email_even_on_one_customer(
    client, victim_order, make_sku, make_order, deliver_order, mailoutbox, actor
):
    # given data the old intake left behind: the attacker's order on the
    # victim's customer, whose email it overwrote
    attacker_order = _attacker_order(make_sku, make_order, deliver_order)
    victim = victim_order.customer
    Order.objects.filter(pk=attacker_order.pk).update(customer=victim)
    Customer.objects.filter(pk=victim.pk).update(email=ATTACKER_EMAIL)
    their_return = _return_for(victim_order, actor)
    # when the attacker verifies their own order
    portal_sign_in(client, attacker_order, ATTACKER_EMAIL, mailoutbox)
    # then only that order is theirs to see
    assert client.get(f"/returns/orders/{attacker_order.number}/").status_code == 200
    assert client.get(f"/returns/orders/{victim_order.number}/").status_code == 404
    assert client.post(f"/returns/orders/{victim_order.number}/quote/").status_code == 404
    assert client.get(f"/returns/r/{their_return.rma}/").status_code == 404
    listing = client.get("/returns/orders/").content.decode()
    assert attacker_order.number in listing
    assert victim_order.number not in listing


def test_a_customer_still_sees_all_orders_placed_with_their_email(
    client, victim_order, make_sku, make_order, deliver_order, mailoutbox
):
    # given a second order of the same customer, email in another case
    second = three_item_order(
        make_sku,
        make_order,
        deliver_order,
        customer={**CUSTOMER, "email": CUSTOMER["email"].upper()},
    )
    assert second.customer_id == victim_order.customer_id
    # when the customer verifies one order by phone (the code goes to the email)
    portal_sign_in(client, victim_order, "98123 45678", mailoutbox)
    # then both orders open
    assert client.get(f"/returns/orders/{second.number}/").status_code == 200
    listing = client.get("/returns/orders/").content.decode()
    assert victim_order.number in listing
    assert second.number in listing


def test_same_email_new_phone_keeps_stored_contact_and_flags_the_change(victim_order, make_order):
    victim = victim_order.customer
    # when the same customer orders with a new phone, email in another case
    order = make_order(
        [("TEE-M", 1)],
        customer={"email": "Asha.Rao@Example.COM", "phone": "+919999999999", "name": "Asha"},
    )
    # then the order carries its own phone, the customer keeps theirs and is flagged
    victim.refresh_from_db()
    assert order.customer_id == victim.pk
    assert order.phone == "+919999999999"
    assert victim.phone == CUSTOMER["phone"]
    assert victim.email == CUSTOMER["email"]
    assert victim.contact_changed_at is not None


def test_order_without_email_is_matched_by_phone_without_changing_the_customer(
    victim_order, make_order
):
    victim = victim_order.customer
    order = make_order([("TEE-M", 1)], customer={"phone": CUSTOMER["phone"]})
    victim.refresh_from_db()
    assert order.customer_id == victim.pk
    assert victim.email == CUSTOMER["email"]
    assert victim.contact_changed_at is None
