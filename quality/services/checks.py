"""The automatic checks on a defect claim, and applying a clear outcome.

Rules, in order (each adds a readable reason):
1. The serial the customer gave (evidence, else the return line) differs from
   the serial recorded at shipment → ``review``.
2. No warranty running (expired, or none) and the return window closed when
   the claim was made → ``reject``. A machine never refuses a warranty claim
   by itself: a person confirms it (``decided_automatically`` is false).
3. A known defect pattern matches (SKU, serial range or batch, defect type;
   the most specific active one wins) → its outcome, decided automatically.
4. Otherwise the policy's ``defect_auto_outcome`` if it sets one (decided
   automatically), else ``review``.

Warranty and window are judged at the claim's date (the return's creation),
so a claim made in time stays valid when evidence arrives later.

A decided outcome becomes the line's resolution while the unit still waits
for pickup and the return is approved: refund, repair, replacement (the same
SKU is reserved, exchange-first; no stock → review) or partial credit (the
customer keeps the unit and the refund machinery credits the policy's
percentage). Exchanges to another variant are the customer's choice and are
left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from inventory.services import InsufficientStock, Move, stock_move_many
from inventory.services import location_default as inventory_location_default
from inventory.states import Bucket
from oms.dates import add_months, fmt
from oms.errors import ApplicationError
from orders.events import EventActor
from orders.services import units_transition
from orders.states import UnitState
from returns.events import return_event
from returns.models import Return, ReturnItem
from returns.services.common import release_reservations
from returns.states import OPEN_STATES, Resolution, ReturnState, ReturnType

from ..events import QualityEventType
from ..models import Assessment, DefectPattern, DefectType, Evidence
from ..states import Outcome, Warranty

# A defect line without a type (and no default for its reason) is stored as
# "unclassified" on every channel, the API included: the returns contract never
# required a type, and QC classifies the unit when it inspects it.
UNCLASSIFIED = "unclassified"


def return_items_validate(req, planned) -> None:
    """Called by ``flows.return_intake.return_plan`` between returns' unit checks
    and its refund-method check: each defect line carries a known defect type
    (explicit, the reason's default, or unclassified)."""
    wanted = {i.defect_type for i in req.items if i.defect_type}
    if not any(p.reason.defect for p in planned) and not wanted:
        return
    types = {t.code: t for t in DefectType.objects.filter(active=True)}
    defaults = {t.default_for_reason: t.code for t in types.values() if t.default_for_reason}
    k = 0
    for n, item in enumerate(req.items):
        count = 1 if item.unit is not None else item.quantity
        group = planned[k : k + count]
        k += count
        if not group:
            continue
        f = f"items[{n}].defect_type"
        code = item.defect_type
        if code and code not in types:
            raise ApplicationError(
                f"{f}: unknown defect type {code!r}; one of {', '.join(sorted(types))}.",
                code="unknown_defect_type",
                extra={"field": f, "allowed": sorted(types)},
            )
        reason = group[0].reason
        if not code and reason.defect:
            code = defaults.get(reason.code, "")
            if not code and UNCLASSIFIED in types:
                code = UNCLASSIFIED
            if not code:
                raise ApplicationError(
                    f"{f}: is required for a {reason.code} line "
                    f"(one of {', '.join(sorted(types))}).",
                    code="defect_type_required",
                    extra={"field": f, "allowed": sorted(types)},
                )
        for p in group:
            p.defect_code = code


def warranty_status(unit, at: datetime) -> tuple[str, datetime | None]:
    months = unit.sku.warranty_months
    if not months or unit.delivered_at is None:
        return Warranty.NONE, None
    ends = add_months(unit.delivered_at, months)
    return (Warranty.IN_TERM if at <= ends else Warranty.EXPIRED), ends


def _norm(serial: str) -> str:
    return "".join(serial.split()).upper()


def pattern_match(patterns: list[DefectPattern], *, unit, serial: str, defect_code: str):
    hits = [
        p for p in patterns if p.matches(sku_id=unit.sku_id, serial=serial, defect_code=defect_code)
    ]
    hits.sort(key=lambda p: (p.specificity, p.created_at, p.pk), reverse=True)
    return hits[0] if hits else None


def assess(item: ReturnItem, return_request: Return, *, claimed: str, patterns) -> dict:
    unit = item.unit
    at = return_request.created_at or timezone.now()
    reasons: list[str] = []
    warranty, ends = warranty_status(unit, at)
    if warranty == Warranty.IN_TERM:
        reasons.append(f"In warranty until {fmt(ends)}.")
    elif warranty == Warranty.EXPIRED:
        reasons.append(f"Warranty ended on {fmt(ends)}.")
    else:
        reasons.append(f"{unit.sku.code} has no warranty.")
    window_open = (
        unit.delivered_at is not None
        and unit.delivered_at + timedelta(days=return_request.policy.window_days) >= at
    )
    shipped = unit.serial
    serial_match = None
    if shipped and claimed:
        serial_match = _norm(shipped) == _norm(claimed)
        reasons.append(
            f"Serial {claimed} matches the unit shipped."
            if serial_match
            else f"Serial {claimed} is not the one shipped ({shipped})."
        )
    elif not shipped:
        reasons.append("No serial was recorded at shipment.")
    else:
        reasons.append("The customer has not given a serial yet.")
    pattern = pattern_match(
        patterns, unit=unit, serial=shipped or claimed, defect_code=item.defect_code
    )
    auto = False
    if serial_match is False:
        outcome = Outcome.REVIEW
        reasons.append("Serial mismatch: a person reviews the claim.")
    elif warranty != Warranty.IN_TERM and not window_open:
        outcome = Outcome.REJECT
        reasons.append(
            "Out of warranty and out of the return window: a person confirms the rejection."
        )
    elif pattern is not None:
        outcome = pattern.outcome
        auto = outcome != Outcome.REJECT
        reasons.append(
            f"Known defect pattern #{pattern.pk} ({pattern}): {pattern.get_outcome_display()}."
        )
        if pattern.note:
            reasons.append(pattern.note)
    elif (
        return_request.policy.defect_auto_outcome in Outcome.values
        and return_request.policy.defect_auto_outcome
        not in (
            Outcome.REVIEW,
            Outcome.REJECT,
        )
    ):
        outcome = return_request.policy.defect_auto_outcome
        auto = True
        reasons.append(f"Policy v{return_request.policy.version} settles such claims by {outcome}.")
    else:
        outcome = Outcome.REVIEW
        reasons.append("No known pattern: a person reviews the claim.")
    return {
        "warranty": warranty,
        "warranty_ends_at": ends,
        "pattern": pattern,
        "serial_match": serial_match,
        "recommendation": outcome,
        "reasons": reasons,
        "decided_automatically": auto,
    }


def assess_items(
    return_request: Return, items: list[ReturnItem], *, refresh: bool
) -> list[Assessment]:
    """Assess defect lines; ``refresh`` recomputes existing assessments (new
    evidence), otherwise only lines without one are assessed."""
    items = [i for i in items if i.reason.defect]
    if not items:
        return []
    existing = {a.return_item_id: a for a in Assessment.objects.filter(return_item__in=items)}
    todo = [i for i in items if refresh or i.pk not in existing]
    if not todo:
        return list(existing.values())
    patterns = list(DefectPattern.objects.filter(active=True).select_related("sku", "defect_type"))
    claimed: dict[int, str] = {}
    for item_id, serial in (
        Evidence.objects.filter(return_item__in=todo).exclude(serial="").order_by("pk")
    ).values_list("return_item_id", "serial"):
        claimed[item_id] = serial
    for item in todo:
        values = assess(
            item,
            return_request,
            claimed=claimed.get(item.pk) or item.customer_serial,
            patterns=patterns,
        )
        current = existing.get(item.pk)
        if current is None:
            existing[item.pk] = Assessment.objects.create(return_item=item, **values)
        else:
            for k, v in values.items():
                setattr(current, k, v)
            current.save()
    return list(existing.values())


def outcomes_apply(return_request: Return, items: list[ReturnItem], actor: EventActor) -> None:
    """Make decided outcomes the lines' resolutions (see the module doc)."""
    if return_request.state != ReturnState.APPROVED:
        return
    by_item = {i.pk: i for i in items}
    pending = list(
        Assessment.objects.filter(
            return_item__in=items, decided_automatically=True, applied=False
        ).order_by("pk")
    )
    for a in pending:
        item = by_item[a.return_item_id]
        if item.resolution == Resolution.EXCHANGE or item.unit.state != UnitState.RETURN_REQUESTED:
            continue
        before = item.resolution
        if a.recommendation != before and not _apply(return_request, item, a, actor):
            continue
        Assessment.objects.filter(pk=a.pk).update(applied=True)
        return_event(
            return_request,
            QualityEventType.QUALITY_DECIDED,
            actor=actor,
            message=f"Unit {item.unit_id}: {a.get_recommendation_display()} decided automatically",
            payload={
                "unit": item.unit_id,
                "from": before,
                "to": a.recommendation,
                "reasons": a.reasons,
            },
        )


def _apply(return_request: Return, item: ReturnItem, a: Assessment, actor: EventActor) -> bool:
    outcome = a.recommendation
    if outcome == Outcome.REPLACEMENT:
        location = return_request.order.ship_from or inventory_location_default()
        try:
            with transaction.atomic():
                stock_move_many(
                    [Move(item.unit.sku_id, location.pk, 1, Bucket.SELLABLE, Bucket.RESERVED)],
                    reason="exchange_reserve",
                    reference=return_request.rma,
                )
        except (InsufficientStock, AttributeError):
            a.decided_automatically = False
            a.recommendation = Outcome.REVIEW
            a.reasons = [*a.reasons, "No stock for a replacement: a person decides."]
            a.save()
            return False
        release_reservations([item], reference=return_request.rma)
        ReturnItem.objects.filter(pk=item.pk).update(
            resolution=Resolution.REPLACEMENT,
            exchange_sku_id=item.unit.sku_id,
            reserved_at=location,
            price_difference=0,
        )
        # the caller's change may hold this item: keep it as the row now is
        item.resolution = Resolution.REPLACEMENT
        item.exchange_sku_id = item.unit.sku_id
        item.reserved_at = location
        item.price_difference = Decimal("0")
        return True
    if outcome in (Outcome.REFUND, Outcome.REPAIR, Outcome.PARTIAL_CREDIT):
        release_reservations([item], reference=return_request.rma)
        ReturnItem.objects.filter(pk=item.pk).update(
            resolution=outcome, exchange_sku_id=None, price_difference=0
        )
        item.resolution = outcome
        item.exchange_sku_id = None
        item.price_difference = Decimal("0")
        if outcome == Outcome.PARTIAL_CREDIT:
            units_transition(
                [item.unit],
                "keep",
                actor=actor,
                message=f"partial credit in {return_request.rma}: the customer keeps it",
                payload={"rma": return_request.rma},
            )
        return True
    return False


def quality_react(
    return_request: Return, actor: EventActor, *, items: list[ReturnItem] | None = None
) -> None:
    """First step of ``flows.reactions.return_changed``: assess new defect lines, apply
    clear outcomes and open repair orders for units that passed QC for
    repair. Costs no query for other returns. ``items``: the return's items
    as the caller's transaction holds them (units current, in primary-key
    order); read when not given."""
    if (
        return_request.type != ReturnType.QUALITY_REJECTION
        or return_request.state not in OPEN_STATES
    ):
        return
    if items is None:
        items = list(
            ReturnItem.objects.filter(return_request=return_request)
            .select_related("unit__sku", "reason")
            .order_by("pk")
        )
    assess_items(return_request, items, refresh=False)
    outcomes_apply(return_request, items, actor)
    from .qc import repair_orders_open

    repair_orders_open(return_request, items, actor)
