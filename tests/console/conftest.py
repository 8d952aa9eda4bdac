import pytest

from tests.ui.builders import held_return, staff_user, three_item_order


@pytest.fixture
def order(db, make_sku, make_order, deliver_order):
    return three_item_order(make_sku, make_order, deliver_order)


@pytest.fixture
def login(client, db):
    """login(role) → the test client signed in as a fresh user of that group."""

    def make(role, *, is_staff=True, username=None):
        user = staff_user(username or f"{role or 'nobody'}-user", role, is_staff=is_staff)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def held(order, actor):
    return held_return(order, [order.units.order_by("pk").last().pk], actor)
