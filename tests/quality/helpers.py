from __future__ import annotations

from orders.models import Unit
from tests.returns.helpers import create, event


def defect_return(
    api,
    order,
    *,
    unit=None,
    resolution="refund",
    defect_type="hardware_failure",
    serial="",
    **extra,
):
    unit = unit or Unit.objects.filter(order=order).order_by("pk").first().pk
    item = {"unit": unit, "reason": "defective", "resolution": resolution, "serial": serial}
    if defect_type is not None:
        item["defect_type"] = defect_type
    return create(api, {"order": order.number, "items": [item], **extra})


def first_unit(order) -> int:
    return Unit.objects.filter(order=order).order_by("pk").first().pk


def detail(api, rma) -> dict:
    r = api.get(f"/api/v1/returns/{rma}/")
    assert r.status_code == 200, r.json()
    return r.json()


def unit_body(api, rma, unit) -> dict:
    return next(u for u in detail(api, rma)["units"] if u["id"] == unit)


def pickup_and_receive(api, rma, location="wh-main"):
    r = event(api, rma, {"type": "pickup_completed"})
    assert r.status_code == 200, r.json()
    r = event(api, rma, {"type": "received", "location": location})
    assert r.status_code == 200, r.json()
