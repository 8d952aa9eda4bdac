"""Read models that span apps, shared by the API, the portal and the console:
a return's body (with its refunds, SLA legs and quality keys), its timeline
and its progress leg by leg, and the order body's ``returns`` key. They are
composed here, above the apps, in the order the API has always shown."""

from __future__ import annotations

from django.db.models import CharField, IntegerField, Q
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from oms.prepared import prepared
from orders.models import Order, TimelineEvent
from orders.selectors import TIMELINE_BODY_FIELDS
from quality.models import Evidence, EvidencePhoto
from quality.selectors import assessment_body, return_quality
from refunds.loyalty import order_loyalty
from refunds.models import Refund
from refunds.selectors import refunds_of_return
from returns.models import Return, ReturnItem
from returns.selectors import (
    RETURN_DETAIL_FIELDS,
    order_returns,
    return_get_for_detail,
)
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


def return_refunds(return_request: Return) -> list:
    """The return's refunds, credit note and tenders loaded."""
    return refunds_of_return(return_request.pk)


def _return_events_qs(order_id, rma, return_id):
    refund_ids = (
        Refund.objects.filter(return_request_id=return_id)
        .order_by()
        .values_list(Cast("pk", output_field=CharField()))
    )
    return (
        TimelineEvent.objects.alias(
            # text, so the comparison is a plain one with the rma as its parameter
            payload_rma=Cast(KT("payload__rma"), output_field=CharField())
        )
        .filter(
            Q(order_id=order_id)
            & (
                Q(entity="return", entity_id=rma)
                | Q(payload_rma=rma)
                | Q(entity="refund", entity_id__in=refund_ids)
            )
        )
        .order_by("occurred_at", "pk")
    )


# the timeline rows as models (the portal's and console's pages) and as the
# dicts the API body is built from
_return_events = prepared(_return_events_qs)


@prepared
def _return_event_values(order_id, rma, return_id):
    return _return_events_qs(order_id, rma, return_id).values(*TIMELINE_BODY_FIELDS)


def return_events(order_id: int, rma: str, return_id: int) -> list:
    """``returns.selectors.return_timeline`` for all of the return's refunds,
    in one statement compiled once (oms.prepared). The payload's ``rma`` is
    compared as text: every writer stores it as the return's rma string (a
    JSON number 1001 would match "1001" here, and not there)."""
    return _return_events(order_id, rma, return_id)


def return_event_rows(return_request: Return, refunds: list | None = None) -> list:
    """The return's timeline rows, its refunds' rows included (all of the
    return's refunds: ``refunds`` is accepted for callers that hold them, and
    not needed, the statement finds them itself)."""
    return return_events(return_request.order_id, return_request.rma, return_request.pk)


# What the body reads of an item and what it joins (quality.selectors.
# assessment_body reads the assessment and pattern fields). FSM states are
# loaded: the transition mixin reads them when a row is loaded.
ITEM_DETAIL_FIELDS = (
    "return_request_id",
    "unit_id",
    "resolution",
    "price_difference",
    "difference_collected",
    "replacement_unit_id",
    "qc_passed",
    "grade",
    "disposition",
    "qc_notes",
    "defect_code",
    "reason__code",
    "exchange_sku__code",
    "unit__line_id",
    "unit__state",
    "unit__sku__code",
    "assessment__warranty",
    "assessment__warranty_ends_at",
    "assessment__serial_match",
    "assessment__recommendation",
    "assessment__decided_automatically",
    "assessment__applied",
    "assessment__reasons",
    "assessment__pattern__serial_from",
    "assessment__pattern__serial_to",
    "assessment__pattern__batch",
    "assessment__pattern__outcome",
    "assessment__pattern__sku__code",
    "assessment__pattern__defect_type__code",
    "repair_order__state",
    "repair_order__shipment_id",
)


def _photo_count_sql() -> str:
    """Evidence photos of the outer ReturnItem row, as a scalar subquery.
    Raw SQL: the same subquery built with Subquery/Coalesce took about as long
    to compile as the whole items query (1.2 ms more per request, measured)."""
    # Only table and column names from the models' metadata; no value, no input.
    photo, evidence, item = EvidencePhoto._meta, Evidence._meta, ReturnItem._meta
    return (
        f'SELECT COUNT(*) FROM "{photo.db_table}" INNER JOIN "{evidence.db_table}" '  # noqa: S608
        f'ON "{photo.db_table}"."{photo.get_field("evidence").column}" = '
        f'"{evidence.db_table}"."{evidence.pk.column}" '
        f'WHERE "{evidence.db_table}"."{evidence.get_field("return_item").column}" = '
        f'"{item.db_table}"."{item.pk.column}"'
    )


@prepared
def _return_detail_items(rma):
    return (
        ReturnItem.objects.filter(return_request__rma=rma)
        .select_related(
            "return_request__order",
            "return_request__policy",
            "return_request__location",
            "unit__sku",
            "reason",
            "exchange_sku",
            "assessment__pattern__sku",
            "assessment__pattern__defect_type",
            "repair_order",
        )
        .only(*ITEM_DETAIL_FIELDS, *(f"return_request__{f}" for f in RETURN_DETAIL_FIELDS))
        .annotate(
            # no parameters: the SQL is names from model metadata (_photo_count_sql)
            photo_count=RawSQL(_photo_count_sql(), (), output_field=IntegerField())  # noqa: S611
        )
        # Sorted here: an ORDER BY makes the compiler hash every selected
        # column (about a millisecond for this many), the sort costs nothing.
        .order_by()
    )


def return_detail_rows(rma: str) -> tuple[Return, list[ReturnItem]]:
    """The return and its items, oldest first, in one statement, with what
    the body shows of each: the return's order number, policy version and
    location; per item the unit and its SKU, the reason, the exchange SKU, and
    quality's assessment (with its pattern), repair order and evidence photo
    count (``photo_count``; ``quality.selectors.return_quality`` reads the
    same in four statements). A return without items (none is created so) is
    read on its own."""
    rows = sorted(_return_detail_items(rma), key=_by_pk)
    if not rows:
        return return_get_for_detail(rma), []
    return rows[0].return_request, rows


def _item_quality(item: ReturnItem) -> dict:
    """What ``quality.selectors.return_quality`` gives for one item."""
    repair = getattr(item, "repair_order", None)
    return {
        "defect_type": item.defect_code or None,
        "evidence_photos": item.photo_count,
        "assessment": assessment_body(getattr(item, "assessment", None)),
        "repair": None
        if repair is None
        else {"id": repair.pk, "state": repair.state, "shipment": repair.shipment_id},
    }


def return_detail(
    rma: str,
    *,
    return_request: Return | None = None,
    items: list | None = None,
    refunds: list | None = None,
    legs: list | None = None,
    quality: dict | None = None,
) -> dict:
    """The body of GET /returns/{rma}/; ``timeline`` holds the timeline rows
    as dicts of ``orders.selectors.TIMELINE_BODY_FIELDS`` (``timeline_values_body``
    makes them the body's). Read: four statements whatever the number
    of units (five when the return has refunds: their tenders). A change that
    holds the return (with its order, policy and location), its items (with
    unit, SKU, reason and exchange SKU, in primary-key order), its refunds
    (newest first, tenders and credit note loaded), its SLA legs or its
    quality keys passes them in: they are not read again."""
    if return_request is None or items is None:
        return_request, items = return_detail_rows(rma)
        if quality is None:
            quality = {i.unit_id: _item_quality(i) for i in items}
    if refunds is None:
        refunds = return_refunds(return_request)
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
        "timeline": _return_event_values(
            return_request.order_id, return_request.rma, return_request.pk
        ),
    }
    # sla's legs, then quality's per-unit keys (read with the items, or held)
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
