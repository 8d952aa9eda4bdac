"""Read models that span apps: the keys other apps add to the order and
return bodies, composed explicitly (in the order the API has always shown)."""

from __future__ import annotations

from orders.models import Order
from quality.selectors import return_quality
from returns.models import Return
from returns.selectors import order_returns
from sla.selectors import leg_body, return_legs

NO_QUALITY = {"defect_type": None, "evidence_photos": 0, "assessment": None, "repair": None}


def order_detail_extend(order: Order, data: dict) -> dict:
    """The order body's ``returns`` key."""
    data["returns"] = order_returns(order)
    return data


def return_detail_extend(ret: Return, data: dict) -> dict:
    """The return body's ``sla`` key, then per unit its defect type, evidence
    count, assessment and repair order."""
    data["sla"] = [leg_body(g) for g in return_legs(ret)]
    quality = return_quality(ret)
    for unit in data["units"]:
        unit.update(quality.get(unit["id"], dict(NO_QUALITY)))
    return data
