"""The demo seed and the admin: the seed is idempotent and leaves the stock
ledger consistent; every admin page renders; nothing in the admin can move a
unit or rewrite a ledger."""

from decimal import Decimal
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse

from inventory.models import SKU, StockBalance, StockMovement
from oms.models import ApiKey, IdempotencyRecord
from orders.models import (
    Channel,
    ContactLog,
    Customer,
    Order,
    Payment,
    Shipment,
    TimelineEvent,
    Unit,
)
from orders.states import UnitState

ADMIN_APPS = {"orders", "inventory", "oms"}
COUNTED = [
    Order,
    Unit,
    Payment,
    Shipment,
    TimelineEvent,
    Customer,
    ContactLog,
    SKU,
    StockBalance,
    StockMovement,
    Channel,
]


def _seed(orders: int = 20) -> str:
    out = StringIO()
    call_command("seed_demo", "--orders", str(orders), stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    counts = {m.__name__: m.objects.count() for m in COUNTED}
    counts["users"] = get_user_model().objects.count()
    counts["stock"] = StockBalance.objects.aggregate(total=Sum("quantity"))["total"]
    return counts


@pytest.fixture
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db, fast_passwords):
    _seed()


def _registered(app_labels=ADMIN_APPS):
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in app_labels
    ]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- seed_demo ---------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_creates_orders_users_and_stock(fast_passwords):
    # when
    output = _seed()

    # then
    assert "orders: 20/20" in output
    assert "Demo logins" in output
    demo = Order.objects.filter(external_id__startswith="DEMO-")
    assert demo.count() == 20
    assert set(demo.values_list("channel__code", flat=True)) <= {"web", "app", "marketplace"}
    assert Shipment.objects.filter(order__in=demo).exists()
    assert Unit.objects.filter(state=UnitState.DELIVERED).exists()
    user_model = get_user_model()
    assert user_model.objects.get(username="admin").is_superuser
    for role in ("agent", "supervisor", "ops", "finance", "warehouse"):
        user = user_model.objects.get(username=role)
        assert user.is_staff
        assert user.check_password(f"{role}-demo-pass")
        assert list(user.groups.values_list("name", flat=True)) == [role]
    assert SKU.objects.filter(returnable=False).exists()
    assert SKU.objects.filter(category="electronics", warranty_months=12).exists()


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(fast_passwords):
    # given
    _seed()
    before = _counts()

    # when
    output = _seed()

    # then
    assert _counts() == before
    assert "nothing changed" in output


@pytest.mark.django_db
def test_check_stock_passes_after_seeding(seeded):
    # when / then: raises CommandError on any mismatch
    call_command("check_stock", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_seeded_payments_add_up_to_the_order_total(seeded):
    for order in Order.objects.prefetch_related("payments"):
        paid = sum((p.amount for p in order.payments.all()), Decimal("0"))
        assert paid == order.grand_total, order.number


# --- admin -------------------------------------------------------------------------


@pytest.fixture
def every_model_has_a_row(seeded):
    """The seed covers most tables; add one row to the ones it may leave empty."""
    order = Order.objects.first()
    ContactLog.objects.create(order=order, summary="Asked about the refund")
    IdempotencyRecord.objects.create(
        key="k1",
        scope="orders.create",
        principal="user:1",
        request_hash="0" * 64,
        status_code=201,
        response_body={},
    )
    call_command("create_api_key", "storefront", "--role", "storefront", stdout=StringIO())


@pytest.mark.django_db
def test_every_admin_page_renders(admin_client, every_model_has_a_row):
    # given
    registered = _registered()
    assert len(registered) >= 15
    failures = []

    # when
    for model, model_admin in registered:
        pages = [_url(model, "changelist"), _url(model, "changelist") + "?q=DEMO"]
        obj = model.objects.order_by("pk").first()
        if obj is None:
            failures.append(f"{model.__name__}: no row to open")
        else:
            pages.append(_url(model, "change", obj.pk))
        if model_admin.has_add_permission(_request(admin_client)):
            pages.append(_url(model, "add"))
        for url in pages:
            status = admin_client.get(url).status_code
            if status != 200:
                failures.append(f"{model.__name__} {url}: {status}")

    # then
    assert failures == []


def _request(client):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(pk=client.session["_auth_user_id"])
    return request


@pytest.mark.django_db
def test_order_page_links_to_its_timeline(admin_client, seeded):
    # given
    order = Order.objects.first()

    # when
    page = admin_client.get(_url(Order, "change", order.pk)).content.decode()
    timeline = admin_client.get(_url(TimelineEvent, "changelist") + f"?order__id__exact={order.pk}")

    # then
    assert f"?order__id__exact={order.pk}" in page
    assert timeline.status_code == 200
    assert timeline.context["cl"].result_count == order.events.count()


@pytest.mark.django_db
def test_unit_state_cannot_be_changed_in_the_admin(admin_client, seeded):
    # given
    unit = Unit.objects.filter(state=UnitState.DELIVERED).first()
    url = _url(Unit, "change", unit.pk)

    # when
    form_page = admin_client.get(url)
    response = admin_client.post(url, {"state": UnitState.CANCELLED, "_save": "Save"})

    # then
    assert 'name="state"' not in form_page.content.decode()
    assert response.status_code == 403
    unit.refresh_from_db()
    assert unit.state == UnitState.DELIVERED


@pytest.mark.parametrize(
    "model", [Unit, Payment, Shipment, Order, TimelineEvent, StockMovement, StockBalance]
)
@pytest.mark.django_db
def test_ledgers_and_lifecycles_are_read_only_in_the_admin(admin_client, model):
    # given
    model_admin = admin.site._registry[model]
    request = _request(admin_client)

    # then
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert admin_client.get(_url(model, "add")).status_code == 403


@pytest.mark.django_db
def test_api_key_admin_hides_the_hash_and_revokes(admin_client, fast_passwords):
    # given
    call_command("create_api_key", "shop", "--role", "storefront", stdout=StringIO())
    key = ApiKey.objects.get()

    # when
    change_page = admin_client.get(_url(ApiKey, "change", key.pk)).content.decode()
    list_page = admin_client.get(_url(ApiKey, "changelist")).content.decode()
    response = admin_client.post(
        _url(ApiKey, "changelist"),
        {"action": "revoke", "_selected_action": [key.pk], "confirm": "yes"},
    )

    # then (revoke asks first; "confirm" is the confirmation page's answer)
    assert key.key_hash not in change_page
    assert key.key_hash not in list_page
    assert key.prefix in list_page
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.django_db
def test_channel_webhook_secret_is_write_only(admin_client):
    # given
    channel = Channel.objects.create(code="shop", name="Shop", webhook_secret="s3cret-value")
    url = _url(Channel, "change", channel.pk)

    # when
    page = admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        {
            "code": "shop",
            "name": "Shop renamed",
            "platform": Channel.Platform.NATIVE,
            "unknown_sku": Channel.UnknownSku.REJECT,
            "webhook_secret": "",
        },
    )

    # then
    assert "s3cret-value" not in page
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.name == "Shop renamed"
    assert channel.webhook_secret == "s3cret-value"


@pytest.mark.django_db
def test_home_page_lists_demo_orders_by_scenario_with_the_login(client, seeded):
    from demo.views import SCENARIOS

    r = client.get("/")
    body = r.content.decode()
    assert "Try a scenario" in body
    shown = r.context["scenarios"]
    assert len(shown) >= 2
    filters = {title: f for title, _, f, _ in SCENARIOS}
    for s in shown:
        assert f"<h3>{s['title']}</h3>" in body
        for ret in s["returns"]:
            assert ret.order.number in body
            for field, value in filters[s["title"]].items():
                assert getattr(ret, field) == value
        assert f"<code>{s['password']}</code>" in body


@pytest.mark.django_db
def test_home_page_shows_no_demo_logins_in_production(client, seeded, settings):
    settings.PRODUCTION = True
    body = client.get("/").content.decode()
    assert "demo-pass" not in body
    assert "Try a scenario" not in body
