"""``manage.py check_stock``: balances must equal the ledger."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.db.models import F

from inventory.models import StockBalance

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(make_sku, make_order, deliver_order):
    # reservations, a shipment and a refusal: every kind of movement so far
    make_sku("DRESS-S", Decimal("1999.00"), stock=4)
    order = make_order([("DRESS-S", 3)])
    deliver_order(order, refused=[order.units.first()])


def test_passes_on_consistent_stock(stocked, capsys):
    call_command("check_stock")
    assert "equal the ledger" in capsys.readouterr().out


def test_fails_after_a_balance_is_changed_behind_the_ledger(stocked, capsys):
    # given a balance edited around the service
    StockBalance.objects.filter(bucket="sellable").update(quantity=F("quantity") + 1)
    # when / then
    with pytest.raises(CommandError, match="1 stock balance"):
        call_command("check_stock")
    assert "MISMATCH DRESS-S @ wh-main / sellable: balance 2 != ledger 1" in capsys.readouterr().err


def test_exits_non_zero_from_the_command_line(stocked, capsys):
    StockBalance.objects.filter(bucket="sellable").delete()
    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "check_stock"]).execute()
    assert exc.value.code != 0
    assert "differ from the ledger" in capsys.readouterr().err
