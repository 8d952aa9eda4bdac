import pytest


@pytest.fixture
def victim_order(db, make_sku, make_order, deliver_order):
    from tests.ui.builders import three_item_order

    return three_item_order(make_sku, make_order, deliver_order)


@pytest.fixture
def order_factory(db, make_sku, make_order, deliver_order):
    """Makes the delivered three-item order (works under transaction=True too)."""
    from tests.ui.builders import seed_reference_data, three_item_order

    def make():
        seed_reference_data()
        return three_item_order(make_sku, make_order, deliver_order)

    return make


def portal_sign_in(client, order, contact, mailoutbox):
    """Look ``order`` up with ``contact`` and enter the code mailed for it."""
    client.post("/returns/", {"order_number": order.number, "contact": contact})
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    r = client.post("/returns/verify/", {"code": code})
    assert r.status_code == 302, r.content
    return mailoutbox[-1]
