"""Loyalty points on an order (seed 004, issue 12): checked at intake, split
over the units, a tender worth redeemed / rate, reversed and given back by
returns exactly, shown on the order and the refund, sent as
``loyalty.adjusted``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, Payment, Unit
from refunds.models import LoyaltyAdjustment, Refund
from tests.returns.helpers import create, unit_ids, walk_to_qc

from .conftest import place

pytestmark = pytest.mark.django_db

# 2 x 500.00 + 1 x 250.00 = 1250.00; 333 points redeemed at 3 per INR = 111.00
LINES = [
    {"sku": "KURTA-M", "quantity": 2, "unit_price": "500.00"},
    {"sku": "KURTA-L", "quantity": 1, "unit_price": "250.00"},
]
LOYALTY = {"earned": 101, "redeemed": 333, "points_per_unit_currency": "3"}
CARD = [{"method": "card", "amount": "1139.00"}]


def _order(api, external_id="W-LOY", payments=CARD, loyalty=LOYALTY):
    return place(api, external_id, payments, lines=LINES, loyalty=loyalty)


def test_an_order_carries_its_points_split_over_the_units(storefront_api, kurta):
    # when an order says 101 points earned and 333 redeemed at 3 points per INR
    r = _order(storefront_api)
    # then the points are a tender worth 111.00, added beside the card
    assert r.status_code == 201, r.json()
    body = r.json()
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [
        ("card", "1139.00"),
        ("loyalty_points", "111.00"),
    ]
    assert body["loyalty"] == {
        "earned": 101,
        "redeemed": 333,
        "points_per_unit_currency": "3.0000",
        "redeemed_value": "111.00",
        "earned_reversed": 0,
        "redeemed_returned": 0,
        "earned_kept": 101,
        "adjustments": [],
    }
    # and each unit holds its share by net paid, largest remainder, adding up exactly
    units = Unit.objects.filter(order__number=body["number"]).order_by("line__position", "index")
    assert [(u.loyalty_earned, u.loyalty_redeemed) for u in units] == [
        (41, 133),
        (40, 133),
        (20, 67),
    ]


def test_the_order_may_name_the_points_tender_itself(storefront_api, kurta):
    r = _order(
        storefront_api,
        payments=[*CARD, {"method": "loyalty_points", "amount": "111.00"}],
    )
    assert r.status_code == 201, r.json()
    assert Payment.objects.filter(method="loyalty_points").count() == 1


def test_an_order_without_loyalty_has_none(storefront_api, kurta):
    r = place(storefront_api, "W-NOLOY", [{"method": "card", "amount": "1000.00"}])
    assert r.json()["loyalty"] is None


@pytest.mark.parametrize(
    ("loyalty", "payments", "field"),
    [
        ({**LOYALTY, "points_per_unit_currency": "0"}, CARD, "points_per_unit_currency"),
        ({**LOYALTY, "points_per_unit_currency": "-2"}, CARD, "points_per_unit_currency"),
        ({"earned": 1, "redeemed": 0}, CARD, "points_per_unit_currency"),
        ({**LOYALTY, "redeemed": -1}, CARD, "redeemed"),
        ({**LOYALTY, "earned": 1.5}, CARD, "earned"),
        ({**LOYALTY, "earned": "lots"}, CARD, "earned"),
        ({**LOYALTY, "redeemed": 1, "points_per_unit_currency": "1000"}, CARD, "redeemed"),
        (LOYALTY, [*CARD, {"method": "loyalty_points", "amount": "110.00"}], "payments"),
        (
            LOYALTY,
            [
                {"method": "card", "amount": "1028.00"},
                {"method": "loyalty_points", "amount": "111.00"},
                {"method": "loyalty_points", "amount": "111.00"},
            ],
            "payments",
        ),
        (LOYALTY, [{"method": "card", "amount": "1250.00"}], "payments"),
        (None, [*CARD, {"method": "loyalty_points", "amount": "111.00"}], "loyalty"),
    ],
)
def test_bad_loyalty_is_400_naming_the_field(storefront_api, kurta, loyalty, payments, field):
    r = _order(storefront_api, payments=payments, loyalty=loyalty)
    assert r.status_code == 400, r.json()
    assert field in r.json()["message"] or field in str(r.json()["extra"])
    assert not Order.objects.filter(external_id="W-LOY").exists()


def _return(api, warehouse_api, order, units, capture, **extra):
    r = create(
        api,
        {
            "order": order.number,
            "items": [{"unit": u, "reason": "changed_mind", "resolution": "refund"} for u in units],
            **extra,
        },
    )
    assert r.status_code == 201, r.json()
    with capture(execute=True):
        walk_to_qc(warehouse_api, r.json()["rma"], units)
    return Refund.objects.filter(return_request__rma=r.json()["rma"]).get()


def test_returns_give_back_points_exactly(
    storefront_api,
    warehouse_api,
    kurta,
    deliver_order,
    hooked_channel,
    storefront,
    django_capture_on_commit_callbacks,
):
    # given a delivered order with points
    order = Order.objects.get(number=_order(storefront_api).json()["number"])
    deliver_order(order)
    a, b, c = unit_ids(order)
    # when the 250.00 unit comes back
    refund = _return(storefront_api, warehouse_api, order, [c], django_capture_on_commit_callbacks)
    # then its 67 redeemed points go back as points (22.33 of the tender) and
    # its 20 earned points are reversed; the card gets the rest
    assert refund.state == "issued"
    assert {t.instrument: t.amount for t in refund.tenders.all()} == {
        "loyalty_points": Decimal("22.33"),
        "card": Decimal("227.67"),
    }
    body = next(x for x in storefront_api.get("/api/v1/refunds/").json() if x["id"] == refund.pk)
    assert body["loyalty"]["earned_reversed"] == 20
    assert body["loyalty"]["redeemed_returned"] == 67
    points = next(t for t in body["tenders"] if t["method"] == "loyalty_points")
    assert points["points"] == 67
    # and the storefront is told, signed, through the outbound webhook
    hooks = [x for x in storefront.succeeded if x.json["type"] == "loyalty.adjusted"]
    assert len(hooks) == 1
    assert hooks[0].signature_valid()
    assert hooks[0].json["data"]["earned_reversed"] == 20
    assert hooks[0].json["data"]["redeemed_returned"] == 67
    assert hooks[0].json["data"]["units"] == [{"unit": c, "earned": 20, "redeemed": 67}]

    # when the two others come back, one return each (one as store credit)
    _return(storefront_api, warehouse_api, order, [a], django_capture_on_commit_callbacks)
    last = _return(
        storefront_api,
        warehouse_api,
        order,
        [b],
        django_capture_on_commit_callbacks,
        refund_method="store_credit",
    )
    # then every point went back, exactly, and the tender to the paisa
    loyalty = storefront_api.get(f"/api/v1/orders/{order.number}/").json()["loyalty"]
    assert (loyalty["earned_reversed"], loyalty["redeemed_returned"]) == (101, 333)
    assert loyalty["earned_kept"] == 0
    assert [a["redeemed_returned"] for a in loyalty["adjustments"]] == [67, 133, 133]
    tender = Payment.objects.get(order=order, method="loyalty_points")
    assert tender.refunded_amount == tender.captured_amount == Decimal("111.00")
    # points never become store credit
    assert {t.instrument for t in last.tenders.all()} == {"loyalty_points", "store_credit"}
    assert [x.json["type"] for x in storefront.succeeded].count("loyalty.adjusted") == 3
    ledger = storefront_api.get(f"/api/v1/orders/{order.number}/ledger/")
    assert ledger.status_code in (200, 403)


def test_the_quote_matches_the_refund_for_points(storefront_api, kurta, deliver_order):
    order = Order.objects.get(number=_order(storefront_api).json()["number"])
    deliver_order(order)
    c = unit_ids(order)[2]
    q = storefront_api.post(
        "/api/v1/returns/quote/",
        {
            "order": order.number,
            "items": [{"unit": c, "reason": "changed_mind", "resolution": "refund"}],
        },
        format="json",
    )
    assert q.status_code == 200, q.json()
    tenders = {t["method"]: t["amount"] for t in q.json()["breakdown"]["tenders"]}
    assert tenders == {"loyalty_points": "22.33", "card": "227.67"}


def test_a_unit_points_move_once(
    storefront_api, warehouse_api, kurta, deliver_order, django_capture_on_commit_callbacks
):
    order = Order.objects.get(number=_order(storefront_api).json()["number"])
    deliver_order(order)
    c = unit_ids(order)[2]
    refund = _return(storefront_api, warehouse_api, order, [c], django_capture_on_commit_callbacks)
    from orders.events import EventActor
    from refunds.loyalty import loyalty_adjust

    # reapplied (a task that ran twice): nothing more moves
    assert loyalty_adjust(refund, EventActor.system("t")) is None
    assert LoyaltyAdjustment.objects.count() == 1


def test_the_console_order_page_shows_points(client, storefront_api, kurta, django_user_model):
    from django.contrib.auth.models import Group

    order = _order(storefront_api).json()["number"]
    user = django_user_model.objects.create_user("sup", password="pw-12345678", is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(user)
    page = client.get(f"/console/orders/{order}/").content.decode()
    assert "Loyalty points" in page
    assert "333" in page
    assert "111.00 INR" in page
    assert "Grant goodwill credit" in page


def test_cancelling_a_unit_gives_its_points_back(
    storefront_api, kurta, django_capture_on_commit_callbacks
):
    from tests.cancellation.helpers import cancel

    # given an undelivered order with points
    order = Order.objects.get(number=_order(storefront_api).json()["number"])
    c = unit_ids(order)[2]
    # when the 250.00 unit is cancelled before it ships
    with django_capture_on_commit_callbacks(execute=True):
        r = cancel(storefront_api, order, {"units": [c], "reason": "changed mind"})
    assert r.status_code == 200, r.json()
    # then its points go back like a return's
    refund = Refund.objects.get(order=order, kind="cancellation")
    assert refund.state == "issued"
    assert {t.instrument: t.amount for t in refund.tenders.all()} == {
        "loyalty_points": Decimal("22.33"),
        "card": Decimal("227.67"),
    }
    adjustment = LoyaltyAdjustment.objects.get(refund=refund)
    assert (adjustment.earned_reversed, adjustment.redeemed_returned) == (20, 67)
