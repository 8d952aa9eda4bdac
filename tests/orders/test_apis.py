"""Order and stock API: status codes and bodies (issue 2)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import StockBalance, StockMovement
from orders.models import Customer, Order, Payment, TimelineEvent, Unit
from orders.states import PaymentState, UnitState

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def order_body(external_id="W-1001", lines=None, payments=None, **overrides):
    lines = (
        lines if lines is not None else [{"sku": "TEE-M", "quantity": 2, "unit_price": "500.00"}]
    )
    total = sum(
        Decimal(ln["unit_price"]) * ln["quantity"] - Decimal(ln.get("discount", "0"))
        for ln in lines
    )
    body = {
        "channel": "web",
        "external_id": external_id,
        "currency": "INR",
        "placed_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "customer": {"email": "asha@example.com", "name": "Asha"},
        "lines": lines,
        "payments": payments
        if payments is not None
        else [
            {
                "method": "card",
                "amount": str(total),
                "gateway": "razorpay",
                "reference": "pay_29QQoUBi66xm2f",
            }
        ],
    }
    body.update(overrides)
    return body


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Order, Unit, Payment, Customer, StockMovement, TimelineEvent)
    }


@pytest.fixture
def tee(make_sku, channel):
    return make_sku("TEE-M", Decimal("500.00"), tax_rate=Decimal("12"), stock=5)


def stock(sku):
    return dict(StockBalance.objects.filter(sku=sku).values_list("bucket", "quantity"))


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["extra"], dict)
    if code:
        assert body["code"] == code
    return body


# --- authentication and permissions -------------------------------------------


def test_no_key_is_401(anon_api, tee):
    response = anon_api.post(ORDERS, order_body(), format="json")
    assert_error_shape(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer oms_deadbeef_notakey", "Bearer garbage", "Bearer "])
def test_bad_key_is_401(anon_api, tee, header):
    anon_api.credentials(HTTP_AUTHORIZATION=header)
    response = anon_api.get(f"{ORDERS}?channel=web")
    assert_error_shape(response, 401)


def test_revoked_key_is_401(storefront_api, tee, django_capture_on_commit_callbacks):
    # given a key that worked (and so is in the authentication cache)
    assert storefront_api.get(f"{ORDERS}?channel=web").status_code == 200
    from oms.models import ApiKey

    # when it is revoked
    with django_capture_on_commit_callbacks(execute=True):
        ApiKey.objects.revoke()
    # then it no longer does
    assert_error_shape(storefront_api.get(f"{ORDERS}?channel=web"), 401)


def test_a_tampered_key_is_401(storefront_api, tee):
    key = storefront_api.api_key
    storefront_api.credentials(HTTP_AUTHORIZATION=f"Bearer {key[:-2]}xx")
    assert_error_shape(storefront_api.get(f"{ORDERS}?channel=web"), 401)


def test_finance_may_not_create_orders(finance_api, tee):
    before = counts()
    response = finance_api.post(ORDERS, order_body(), format="json")
    assert_error_shape(response, 403)
    assert counts() == before


def test_agent_may_not_change_skus(agent_api):
    response = agent_api.put(
        "/api/v1/skus/NEW-1/", {"product": "new", "name": "New", "price": "10.00"}, format="json"
    )
    assert_error_shape(response, 403)


def test_finance_may_not_ship(finance_api, make_order):
    order = make_order()
    unit = order.units.get()
    response = finance_api.post(
        f"{ORDERS}{order.number}/shipments/", {"units": [unit.pk]}, format="json"
    )
    assert_error_shape(response, 403)
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ALLOCATED


def test_schema_is_published(anon_api):
    response = anon_api.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/orders/" in response.content


# --- intake ---------------------------------------------------------------------


def test_create_order_201_reserves_stock(storefront_api, tee):
    # when a storefront posts an order for 2 of 5 in stock
    response = storefront_api.post(ORDERS, order_body(), format="json")
    # then it is created with two allocated units and stock reserved
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_id"] == "W-1001"
    assert body["currency"] == "INR"
    assert body["totals"]["items"] == "1000.00"
    assert body["totals"]["grand_total"] == "1000.00"
    units = body["lines"][0]["units"]
    assert [u["state"] for u in units] == ["allocated", "allocated"]
    assert [u["net_paid"] for u in units] == ["500.00", "500.00"]
    assert body["payments"][0]["state"] == "captured"
    assert stock(tee) == {"sellable": 3, "reserved": 2}


def test_replay_with_same_channel_and_external_id_returns_the_same_order(storefront_api, tee):
    # given an order was created
    first = storefront_api.post(ORDERS, order_body(), format="json")
    assert first.status_code == 201
    # when the same channel + external id arrives again
    again = storefront_api.post(ORDERS, order_body(), format="json")
    # then it is the same order, nothing is duplicated and no stock moves twice
    assert again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    assert Unit.objects.count() == 2
    assert stock(tee) == {"sellable": 3, "reserved": 2}


def test_short_stock_leaves_units_ordered(storefront_api, make_sku, channel):
    # given only 1 in stock
    sku = make_sku("CAP-1", Decimal("250.00"), stock=1)
    # when 3 are ordered
    response = storefront_api.post(
        ORDERS,
        order_body(lines=[{"sku": "CAP-1", "quantity": 3, "unit_price": "250.00"}]),
        format="json",
    )
    # then the order is accepted; the SKU is short, so no unit is allocated (backorder)
    assert response.status_code == 201
    states = [u["state"] for u in response.json()["lines"][0]["units"]]
    assert states == ["ordered"] * 3
    assert stock(sku) == {"sellable": 1}
    assert TimelineEvent.objects.filter(type="stock.short").count() == 1


def test_short_sku_does_not_block_the_others(storefront_api, make_sku, channel):
    make_sku("IN-STOCK", Decimal("10.00"), stock=5)
    make_sku("NO-STOCK", Decimal("20.00"))
    response = storefront_api.post(
        ORDERS,
        order_body(
            lines=[
                {"sku": "IN-STOCK", "quantity": 1, "unit_price": "10.00"},
                {"sku": "NO-STOCK", "quantity": 1, "unit_price": "20.00"},
            ]
        ),
        format="json",
    )
    assert response.status_code == 201
    lines = response.json()["lines"]
    assert [ln["units"][0]["state"] for ln in lines] == ["allocated", "ordered"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(
            {"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "500.00"}]},
            "lines[0].sku",
            id="unknown-sku",
        ),
        pytest.param(
            {"lines": [{"sku": "TEE-M", "quantity": 0, "unit_price": "500.00"}]},
            "lines[0].quantity",
            id="zero-quantity",
        ),
        pytest.param(
            {"lines": [{"sku": "TEE-M", "quantity": -2, "unit_price": "500.00"}]},
            "lines[0].quantity",
            id="negative-quantity",
        ),
        pytest.param(
            {"payments": [{"method": "card", "amount": "999.99"}]}, "payments", id="payments-short"
        ),
        pytest.param(
            {
                "payments": [
                    {"method": "card", "amount": "600.00"},
                    {"method": "gift_card", "amount": "500.00"},
                ]
            },
            "payments",
            id="payments-over",
        ),
        pytest.param({"currency": "XYZ"}, "currency", id="unknown-currency"),
        pytest.param(
            {
                "lines": [
                    {"sku": "TEE-M", "quantity": 1, "unit_price": "500.00", "discount": "500.01"}
                ],
                "payments": [{"method": "card", "amount": "1.00"}],
            },
            "lines[0].discount",
            id="discount-over-line",
        ),
        pytest.param({"order_discount": "1000.01"}, "order_discount", id="order-discount-over"),
        pytest.param({"channel": "nowhere"}, "channel", id="unknown-channel"),
        pytest.param({"customer": {"name": "No contact"}}, "customer", id="customer-contact"),
    ],
)
def test_invalid_order_is_400_naming_the_field_and_writes_nothing(
    storefront_api, tee, change, field
):
    # given
    before, stock_before = counts(), stock(tee)
    body = order_body(**change) if "lines" in change or "payments" in change else order_body()
    body.update(change)
    # when
    response = storefront_api.post(ORDERS, body, format="json")
    # then the field is named and nothing was written
    error = assert_error_shape(response, 400)
    assert field in error["message"]
    assert counts() == before
    assert stock(tee) == stock_before


def test_unknown_sku_error_names_the_line(storefront_api, tee):
    body = order_body(
        lines=[
            {"sku": "TEE-M", "quantity": 1, "unit_price": "500.00"},
            {"sku": "GHOST", "quantity": 1, "unit_price": "500.00"},
        ]
    )
    error = assert_error_shape(storefront_api.post(ORDERS, body, format="json"), 400)
    assert "lines[1].sku" in error["message"]
    assert error["code"] == "unknown_sku"
    assert Order.objects.count() == 0


def test_payments_mismatch_reports_both_totals(storefront_api, tee):
    body = order_body(payments=[{"method": "card", "amount": "900.00"}])
    error = assert_error_shape(storefront_api.post(ORDERS, body, format="json"), 400)
    assert error["code"] == "payments_mismatch"
    assert error["extra"]["order_total"] == "1000.00"
    assert error["extra"]["payments_total"] == "900.00"


def test_validation_error_lists_fields_in_extra(storefront_api, tee):
    body = order_body(lines=[{"sku": "TEE-M", "quantity": 0, "unit_price": "-1"}])
    error = assert_error_shape(storefront_api.post(ORDERS, body, format="json"), 400, "invalid")
    assert set(error["extra"]["fields"]) >= {"lines[0].quantity", "lines[0].unit_price"}


def test_line_tax_stated_by_the_channel_is_split_over_the_units(storefront_api, tee):
    # given 2 tees at 500.00 excluding tax where the storefront charged 45.01 tax
    # on the line (not 12% of it)
    body = order_body(
        lines=[{"sku": "TEE-M", "quantity": 2, "unit_price": "500.00", "tax": "45.01"}],
        payments=[{"method": "card", "amount": "1045.01"}],
        prices_include_tax=False,
    )
    # when the order is created
    response = storefront_api.post(ORDERS, body, format="json")
    # then the line's tax is the stated one, split 22.51 / 22.50 over the units
    assert response.status_code == 201, response.content
    order = response.json()
    units = order["lines"][0]["units"]
    assert [(u["net_paid"], u["tax"]) for u in units] == [
        ("522.51", "22.51"),
        ("522.50", "22.50"),
    ]
    assert (order["totals"]["tax"], order["totals"]["grand_total"]) == ("45.01", "1045.01")


def test_line_tax_included_in_the_price_is_informational(storefront_api, tee):
    # given prices including tax: 2 x 500.00 less 100.00, of which 85.71 was tax
    body = order_body(
        lines=[
            {
                "sku": "TEE-M",
                "quantity": 2,
                "unit_price": "500.00",
                "discount": "100.00",
                "tax": "85.71",
            }
        ]
    )
    response = storefront_api.post(ORDERS, body, format="json")
    # then the units paid their price less discount, and carry the tax within it
    assert response.status_code == 201, response.content
    order = response.json()
    units = order["lines"][0]["units"]
    assert [(u["net_paid"], u["tax"]) for u in units] == [
        ("450.00", "42.86"),
        ("450.00", "42.85"),
    ]
    assert (order["totals"]["tax"], order["totals"]["grand_total"]) == ("85.71", "900.00")


@pytest.mark.parametrize(
    ("line", "payment"),
    [
        pytest.param({"tax": "-0.01"}, "1000.00", id="negative"),
        pytest.param({"tax": "abc"}, "1000.00", id="not-a-number"),
        pytest.param({"tax": "0.001"}, "1000.00", id="sub-paisa"),
        pytest.param({"tax": "1000.01"}, "1000.00", id="inclusive-over-value"),
    ],
)
def test_bad_line_tax_is_400_naming_it_and_writes_nothing(storefront_api, tee, line, payment):
    before = counts()
    body = order_body(
        lines=[{"sku": "TEE-M", "quantity": 2, "unit_price": "500.00", **line}],
        payments=[{"method": "card", "amount": payment}],
    )
    error = assert_error_shape(storefront_api.post(ORDERS, body, format="json"), 400)
    assert "lines[0].tax" in error["message"]
    assert counts() == before


# --- reading ----------------------------------------------------------------------


def test_get_order_shows_units_with_state_and_net_paid(agent_api, make_order, make_sku):
    # given an order with an uneven split
    make_sku("MUG-1", Decimal("100.00"), stock=3)
    order = make_order([("MUG-1", 3, Decimal("100.00"), Decimal("100.00"))])
    # when an agent reads it
    response = agent_api.get(f"{ORDERS}{order.number}/")
    # then
    assert response.status_code == 200
    body = response.json()
    units = body["lines"][0]["units"]
    assert [u["net_paid"] for u in units] == ["66.66", "66.67", "66.67"]
    assert [u["discount"] for u in units] == ["33.34", "33.33", "33.33"]
    assert {u["state"] for u in units} == {"allocated"}
    assert body["status"] == "unfulfilled"
    assert body["payment_status"] == "paid"


def test_unknown_order_is_404(agent_api):
    assert_error_shape(agent_api.get(f"{ORDERS}OD-NOPE/"), 404)


def test_timeline_is_oldest_first(agent_api, make_order, deliver_order):
    # given an order placed an hour ago, then shipped and delivered
    order = make_order()
    deliver_order(order)
    # when the timeline is read
    response = agent_api.get(f"{ORDERS}{order.number}/timeline/")
    # then it starts with the order being placed and runs forward in time
    assert response.status_code == 200
    events = response.json()
    assert events[0]["type"] == "order.created"
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
    assert [e["type"] for e in events][-1] == "shipment.delivered"
    assert {"unit.transition", "shipment.created"} <= {e["type"] for e in events}


# --- shipments and delivery --------------------------------------------------------


def test_ship_units_201_consumes_reserved_stock(warehouse_api, make_order, tee):
    # given an order of 2 (2 reserved, 3 sellable)
    order = make_order([("TEE-M", 2)])
    ids = sorted(order.units.values_list("pk", flat=True))
    # when one unit ships
    response = warehouse_api.post(
        f"{ORDERS}{order.number}/shipments/", {"units": [ids[0]]}, format="json"
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "state", "units"}
    assert body["state"] == "shipped"
    assert body["units"] == [ids[0]]
    states = dict(Unit.objects.filter(order=order).values_list("pk", "state"))
    assert states == {ids[0]: "shipped", ids[1]: "allocated"}
    assert stock(tee) == {"sellable": 3, "reserved": 1}


def test_shipping_an_ordered_unit_reserves_it_when_stock_arrives(
    warehouse_api, make_order, make_sku, warehouse_location
):
    from inventory.services import stock_adjust

    # given a backordered unit
    sku = make_sku("LATE-1", Decimal("10.00"))
    order = make_order([("LATE-1", 1)])
    unit = order.units.get()
    assert unit.state == UnitState.ORDERED
    url = f"{ORDERS}{order.number}/shipments/"
    # when it ships with no stock: 409 and nothing changes
    assert_error_shape(warehouse_api.post(url, {"units": [unit.pk]}, format="json"), 409)
    assert Unit.objects.get(pk=unit.pk).state == UnitState.ORDERED
    # when stock arrives, it ships
    stock_adjust(sku=sku, location=warehouse_location, bucket="sellable", quantity=1, reason="po")
    assert warehouse_api.post(url, {"units": [unit.pk]}, format="json").status_code == 201
    assert Unit.objects.get(pk=unit.pk).state == UnitState.SHIPPED
    assert stock(sku) == {"sellable": 0, "reserved": 0}


def test_shipping_a_shipped_unit_is_409_and_changes_nothing(warehouse_api, make_order, tee):
    order = make_order([("TEE-M", 1)])
    unit = order.units.get()
    url = f"{ORDERS}{order.number}/shipments/"
    assert warehouse_api.post(url, {"units": [unit.pk]}, format="json").status_code == 201
    before, stock_before = counts(), stock(tee)
    # when it is shipped again
    error = assert_error_shape(warehouse_api.post(url, {"units": [unit.pk]}, format="json"), 409)
    # then
    assert error["extra"]["state"] == "shipped"
    assert counts() == before
    assert stock(tee) == stock_before
    assert order.shipments.count() == 1


def test_shipping_a_unit_of_another_order_is_400(warehouse_api, make_order):
    order, other = make_order(), make_order()
    foreign = other.units.get()
    response = warehouse_api.post(
        f"{ORDERS}{order.number}/shipments/", {"units": [foreign.pk]}, format="json"
    )
    error = assert_error_shape(response, 400)
    assert "units" in error["message"]


def _ship(client, order, **extra):
    ids = sorted(order.units.values_list("pk", flat=True))
    response = client.post(
        f"{ORDERS}{order.number}/shipments/", {"units": ids, **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["id"], ids


def test_delivery_with_a_refused_unit(warehouse_api, make_order, tee):
    # given a shipped order of 2
    order = make_order([("TEE-M", 2)])
    delivered_at = timezone.now() - timedelta(minutes=10)
    shipment_id, ids = _ship(
        warehouse_api, order, shipped_at=(delivered_at - timedelta(hours=1)).isoformat()
    )
    # when the courier reports one refused at the door
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/",
        {"delivered_at": delivered_at.isoformat(), "refused_units": [ids[1]]},
        format="json",
    )
    # then one is delivered and one refused
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["delivered_units"] == [ids[0]]
    assert body["refused_units"] == [ids[1]]
    assert body["state"] == "delivered"
    units = {u.pk: u for u in Unit.objects.filter(order=order)}
    assert units[ids[0]].state == UnitState.DELIVERED
    assert units[ids[0]].delivered_at == delivered_at
    # the refusal is recorded, and the unit rides back in a doorstep-refusal return
    assert order.events.filter(
        entity="unit", entity_id=str(ids[1]), to_state=UnitState.REFUSED
    ).exists()
    assert units[ids[1]].state == UnitState.RETURN_IN_TRANSIT
    assert order.returns.get().type == "doorstep_refusal"


def test_a_delivery_dated_before_its_shipment_is_refused(warehouse_api, make_order, tee):
    # given a shipment that left an hour ago
    order = make_order([("TEE-M", 1)])
    shipped_at = timezone.now() - timedelta(hours=1)
    shipment_id, ids = _ship(warehouse_api, order, shipped_at=shipped_at.isoformat())
    # when the courier reports it delivered two hours ago
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/",
        {"delivered_at": (shipped_at - timedelta(hours=1)).isoformat()},
        format="json",
    )
    # then it is refused, naming the field, and nothing moved
    error = assert_error_shape(response, 400)
    assert error["code"] == "delivered_before_shipped"
    assert error["extra"]["field"] == "delivered_at"
    assert Unit.objects.get(pk=ids[0]).state == UnitState.SHIPPED
    assert not order.events.filter(type="shipment.delivered").exists()
    # and a delivery after the shipment is accepted
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/",
        {"delivered_at": (shipped_at + timedelta(minutes=30)).isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_a_shipment_dated_in_the_future_is_refused(warehouse_api, make_order, tee):
    order = make_order([("TEE-M", 1)])
    ids = list(order.units.values_list("pk", flat=True))
    response = warehouse_api.post(
        f"{ORDERS}{order.number}/shipments/",
        {"units": ids, "shipped_at": (timezone.now() + timedelta(days=1)).isoformat()},
        format="json",
    )
    assert assert_error_shape(response, 400)["extra"]["field"] == "shipped_at"


def test_delivering_twice_is_409_and_changes_nothing(warehouse_api, make_order):
    order = make_order([("TEE-X", 2)])
    shipment_id, ids = _ship(warehouse_api, order)
    url = f"/api/v1/shipments/{shipment_id}/delivered/"
    assert warehouse_api.post(url, {}, format="json").status_code == 200
    before = counts()
    # when the delivery is reported again, now with a refusal
    response = warehouse_api.post(url, {"refused_units": [ids[0]]}, format="json")
    # then
    assert_error_shape(response, 409)
    assert counts() == before
    assert set(Unit.objects.filter(order=order).values_list("state", flat=True)) == {"delivered"}


def test_redelivered_courier_event_is_ignored(warehouse_api, make_order):
    order = make_order([("TEE-X", 1)])
    shipment_id, _ = _ship(warehouse_api, order)
    url = f"/api/v1/shipments/{shipment_id}/delivered/"
    assert warehouse_api.post(url, {"event_id": "ev-1"}, format="json").status_code == 200
    before = counts()
    again = warehouse_api.post(url, {"event_id": "ev-1"}, format="json")
    assert again.status_code == 200
    assert counts() == before


def test_delivery_of_unknown_shipment_is_404(warehouse_api):
    assert_error_shape(warehouse_api.post("/api/v1/shipments/999999/delivered/", {}), 404)


def test_refusing_a_unit_outside_the_shipment_is_400(warehouse_api, make_order):
    order, other = make_order(), make_order()
    shipment_id, _ = _ship(warehouse_api, order)
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/",
        {"refused_units": [other.units.get().pk]},
        format="json",
    )
    error = assert_error_shape(response, 400)
    assert "refused_units" in error["message"]
    assert order.units.get().state == UnitState.SHIPPED


# --- cash on delivery -----------------------------------------------------------------


@pytest.fixture
def cod_order(make_order, make_sku):
    make_sku("SHOE-9", Decimal("1200.00"), stock=5)
    make_sku("SOCK-1", Decimal("300.00"), stock=5)
    return make_order([("SHOE-9", 1), ("SOCK-1", 1)], shipping=Decimal("50.00"), cod=True)


def test_cod_collection_must_match_the_accepted_units(warehouse_api, cod_order):
    # given a COD order of 1200 + 300 + 50 shipping, socks refused at the door
    shipment_id, _ = _ship(warehouse_api, cod_order)
    sock = cod_order.units.get(sku__code="SOCK-1")
    url = f"/api/v1/shipments/{shipment_id}/delivered/"
    before = counts()
    # when the courier reports the full amount
    wrong = warehouse_api.post(
        url, {"refused_units": [sock.pk], "cod_collected": "1550.00"}, format="json"
    )
    # then it is refused and nothing changes
    error = assert_error_shape(wrong, 400, "cod_mismatch")
    assert error["extra"]["expected"] == "1250.00"
    assert "cod_collected" in error["message"]
    assert counts() == before
    assert Payment.objects.get(order=cod_order).state == PaymentState.PENDING
    # when it reports the accepted shoe plus shipping
    right = warehouse_api.post(
        url, {"refused_units": [sock.pk], "cod_collected": "1250.00"}, format="json"
    )
    # then the cash is collected for the accepted unit only
    assert right.status_code == 200, right.content
    payment = Payment.objects.get(order=cod_order)
    assert payment.state == PaymentState.CAPTURED
    assert payment.captured_amount == Decimal("1250.00")
    # and the refused sock rides back with the courier (doorstep refusal)
    assert Unit.objects.get(pk=sock.pk).state == UnitState.RETURN_IN_TRANSIT


def test_cod_refused_entirely_voids_the_payment(warehouse_api, cod_order):
    shipment_id, ids = _ship(warehouse_api, cod_order)
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/",
        {"refused_units": ids, "cod_collected": "0.00"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "refused"
    payment = Payment.objects.get(order=cod_order)
    assert payment.state == PaymentState.VOIDED
    assert payment.captured_amount == Decimal("0")


def test_cod_amount_on_a_prepaid_order_is_400(warehouse_api, make_order):
    order = make_order()
    shipment_id, _ = _ship(warehouse_api, order)
    response = warehouse_api.post(
        f"/api/v1/shipments/{shipment_id}/delivered/", {"cod_collected": "10.00"}, format="json"
    )
    assert_error_shape(response, 400)
    assert order.units.get().state == UnitState.SHIPPED


# --- catalogue and stock ---------------------------------------------------------------


def test_catalogue_and_stock_sync(warehouse_api, agent_api):
    # when a WMS creates a location and a SKU and counts stock in
    loc = warehouse_api.put(
        "/api/v1/locations/blr-1/", {"name": "Bengaluru", "kind": "warehouse"}, format="json"
    )
    assert loc.status_code == 201
    sku = warehouse_api.put(
        "/api/v1/skus/KURTA-L/",
        {"product": "kurta", "name": "Kurta L", "price": "1499.00", "tax_rate": "12"},
        format="json",
    )
    assert sku.status_code == 201
    again = warehouse_api.put(
        "/api/v1/skus/KURTA-L/",
        {"product": "kurta", "name": "Kurta L", "price": "1399.00"},
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["price"] == "1399.00"
    adj = warehouse_api.post(
        "/api/v1/stock/adjustments/",
        {
            "sku": "KURTA-L",
            "location": "blr-1",
            "bucket": "sellable",
            "quantity": 4,
            "reason": "GRN",
        },
        format="json",
    )
    assert adj.status_code == 201
    # then anyone who may read stock sees it
    listing = agent_api.get("/api/v1/stock/?sku=KURTA-L")
    assert listing.status_code == 200
    assert listing.json() == [
        {"sku": "KURTA-L", "location": "blr-1", "bucket": "sellable", "quantity": 4}
    ]


def test_stock_adjustment_cannot_go_negative(warehouse_api, tee, warehouse_location):
    response = warehouse_api.post(
        "/api/v1/stock/adjustments/",
        {
            "sku": "TEE-M",
            "location": warehouse_location.code,
            "bucket": "sellable",
            "quantity": -6,
            "reason": "count",
        },
        format="json",
    )
    assert_error_shape(response, 409, "insufficient_stock")
    assert stock(tee) == {"sellable": 5}


def test_stock_adjustment_unknown_sku_is_400(warehouse_api, warehouse_location):
    response = warehouse_api.post(
        "/api/v1/stock/adjustments/",
        {
            "sku": "NOPE",
            "location": warehouse_location.code,
            "bucket": "sellable",
            "quantity": 1,
            "reason": "x",
        },
        format="json",
    )
    error = assert_error_shape(response, 400)
    assert "sku" in error["extra"]["fields"]
