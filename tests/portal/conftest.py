import pytest

from tests.ui.builders import OTHER, three_item_order


@pytest.fixture
def order(db, make_sku, make_order, deliver_order):
    return three_item_order(make_sku, make_order, deliver_order)


@pytest.fixture
def other_order(db, order, make_order, deliver_order, make_sku):
    return three_item_order(make_sku, make_order, deliver_order, customer=OTHER)


@pytest.fixture
def verified(client, order, mailoutbox):
    """A client that looked up ``order`` and entered the emailed code."""
    client.post("/returns/", {"order_number": order.number, "contact": order.email})
    code = mailoutbox[-1].subject.rsplit(" ", 1)[-1]
    r = client.post("/returns/verify/", {"code": code})
    assert r.status_code == 302, r.content
    return client
