"""Read models that span apps, shared by the API, the portal and the console:
a return's body (with its refunds, SLA legs and quality keys), its timeline
and its progress leg by leg, and the order body's ``returns`` key. They are
composed here, above the apps, in the order the API has always shown."""

from __future__ import annotations

from orders.models import Order
from quality.selectors import return_quality
from refunds.loyalty import order_loyalty
from refunds.selectors import refunds_for_returns
from returns.models import Return
from returns.selectors import order_returns, return_get, return_timeline
from returns.states import PickupStatus
from sla import selectors as sla_selectors
from sla.selectors import leg_body, return_legs

NO_QUALITY = {"defect_type": None, "evidence_photos": 0, "assessment": None, "repair": None}


def order_detail_extend(order: Order, data: dict) -> dict:
    """The order body's ``returns`` key, and ``loyalty`` (null, with no query,
    for an order without loyalty points)."""
    data["returns"] = order_returns(order)
    data["loyalty"] = order_loyalty(order)
    return data


def return_detail_extend(
    return_request: Return, data: dict, legs: list | None = None, quality: dict | None = None
) -> dict:
    """The return body's ``sla`` key, then per unit its defect type, evidence
    count, assessment and repair order. ``legs`` (the return's SLA legs) and
    ``quality`` (``return_quality``'s answer) when the caller holds them;
    read when not given."""
    if legs is None:
        legs = return_legs(return_request)
    else:
        legs = sorted(legs, key=lambda g: (g.started_at, g.pk))
    data["sla"] = [leg_body(g) for g in legs]
    if quality is None:
        quality = return_quality(return_request)
    for unit in data["units"]:
        unit.update(quality.get(unit["id"], dict(NO_QUALITY)))
    return data


def return_refunds(return_request: Return) -> list:
    """The return's refunds, credit note and tenders loaded."""
    return refunds_for_returns([return_request.pk]).get(return_request.pk, [])


def return_event_rows(return_request: Return, refunds: list | None = None):
    """The return's timeline rows, its refunds' rows included."""
    if refunds is None:
        refunds = return_refunds(return_request)
    return return_timeline(return_request, [r.pk for r in refunds])


def return_detail(
    rma: str,
    *,
    return_request: Return | None = None,
    items: list | None = None,
    refunds: list | None = None,
    legs: list | None = None,
    quality: dict | None = None,
) -> dict:
    """The body of GET /returns/{rma}/; ``timeline`` holds the TimelineEvent
    rows (the API serializes them). A change that holds the return (with its
    order, policy and location), its items (with unit, SKU, reason and
    exchange SKU, in primary-key order), its refunds (newest first, tenders
    and credit note loaded), its SLA legs or its quality keys passes them
    in: they are not read again."""
    if return_request is None:
        return_request = return_get(rma)
    if refunds is None:
        refunds = return_refunds(return_request)
    if items is None:
        items = list(return_request.items.all())
    units = [_unit_body(i) for i in items]
    data = {
        "rma": return_request.rma,
        "order": return_request.order.number,
        "type": return_request.type,
        "is_full_return": return_request.is_full_return,
        "state": return_request.state,
        "policy_version": return_request.policy.version,
        "refund_method": return_request.refund_method,
        "channel": return_request.channel,
        "location": return_request.location.code if return_request.location else None,
        "pickup_attempts": return_request.pickup_attempts,
        "pickup": {
            "courier": return_request.courier or "manual",
            "status": return_request.pickup_status,
            "awb": return_request.awb,
            "courier_name": return_request.courier_name,
            "scheduled_at": return_request.pickup_scheduled_at,
            "error": return_request.pickup_error,
            "label_url": f"/returns/r/{return_request.rma}/label.pdf"
            if return_request.pickup_status == PickupStatus.UNSERVICEABLE
            else None,
        },
        "risk": {"score": return_request.risk_score, "reasons": return_request.risk_reasons},
        "created_at": return_request.created_at,
        "units": units,
        "refund": {
            "estimated": return_request.estimate.get("total"),
            "breakdown": return_request.estimate,
        },
        "refunds": [_refund_body(r) for r in refunds],
        "timeline": return_event_rows(return_request, refunds),
    }
    # sla's legs and quality's per-unit keys
    return return_detail_extend(return_request, data, legs, quality)


def _unit_body(i) -> dict:
    return {
        "id": i.unit_id,
        "line": i.unit.line_id,
        "sku": i.unit.sku_id and i.unit.sku.code,
        "state": i.unit.state,
        "resolution": i.resolution,
        "reason": i.reason.code,
        "exchange_sku": i.exchange_sku.code if i.exchange_sku else None,
        "price_difference": str(i.price_difference),
        "difference_collected": i.difference_collected,
        "replacement_unit": i.replacement_unit_id,
        "qc": None
        if i.qc_passed is None
        else {
            "passed": i.qc_passed,
            "grade": i.grade,
            "disposition": i.disposition,
            "notes": i.qc_notes,
        },
    }


def _refund_body(r) -> dict:
    return {
        "id": r.pk,
        "kind": r.kind,
        "state": r.state,
        "amount": str(r.amount),
        "method": r.method,
        "credit_note": getattr(getattr(r, "credit_note", None), "number", None),
        "tenders": [
            {
                "method": t.instrument,
                "amount": str(t.amount),
                "state": t.state,
                "gateway": t.gateway,
                "reference": t.gateway_reference,
                "bank_reference": t.bank_reference,
            }
            | _points(r, t)
            for t in r.tenders.all()
        ],
    }


def _points(refund, tender) -> dict:
    """A loyalty tender's points, as the refund's breakdown records them."""
    if tender.instrument != "loyalty_points":
        return {}
    rows = refund.breakdown.get("tenders", [])
    return {"points": next((t.get("points") for t in rows if t["payment"] == tender.payment_id), 0)}


def quote_dates(policy, *, return_type: str, channel: str):
    """When a customer quoting a return now can expect each step: sla's one
    clock (the same rules and business calendar as the breach times)."""
    return sla_selectors.promised_dates(policy=policy, return_type=return_type, channel=channel)


def return_progress(return_request: Return, events=None) -> list[dict]:
    """Requested → (review) → picked up → received → inspected → refunded /
    exchange dispatched, each done, current or to come, with when it happened
    or is expected: sla's one clock (the legs' due times where they have
    started, the same rules and calendar projected where not)."""
    if events is None:
        events = return_event_rows(return_request)
    return sla_selectors.return_progress(return_request, events)


def _by_pk(leg):
    return leg.pk


def _mark_status(legs: list[dict], *, closed: bool) -> None:
    current_set = False
    for leg in legs:
        if leg.get("failed"):
            leg["status"] = "failed"
        elif leg["at"]:
            leg["status"] = "done"
        elif not current_set and not closed:
            leg["status"] = "current"
            current_set = True
        else:
            leg["status"] = "todo"
