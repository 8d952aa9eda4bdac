"""Refunds: created when due (a reaction to return changes), issued through a
gateway by a Celery task, with ledger rows, a credit note and store credit.

Gates (DOMAIN.md, Deferred refunds): a return's refund falls due only when
none of its units is still on the way or waiting for QC and every exchange on
it is final. Keep-it units are refunded at approval, as the policy allows.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from oms.dates import local_day
from oms.errors import Conflict, NotFound
from oms.jobs import job_enqueue
from oms.money import round_money
from orders.events import Event, EventActor, timeline_record
from orders.messaging import message_enqueue
from orders.models import LedgerEntry, Order, Payment, TimelineEvent, Unit
from orders.services import new_reference, payment_refund_record, units_transition
from orders.states import UnitState
from returns.models import Return, ReturnItem
from returns.pricing import PricedUnit, price_return
from returns.services import tenders_in_policy_order
from returns.states import NO_PICKUP, Resolution, ReturnType

from .gateways import GatewayError, gateway_for
from .models import CreditNote, Refund, RefundItem, RefundTender, StoreCredit
from .states import RefundKind, RefundState
from .webhooks import refund_issued_webhook

WAITING = {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}
WITH_CUSTOMER = {
    UnitState.ORDERED,
    UnitState.ALLOCATED,
    UnitState.SHIPPED,
    UnitState.DELIVERED,
    UnitState.RETURN_REJECTED,
    UnitState.KEPT,
    UnitState.IN_REPAIR,
    UnitState.REPAIRED,
}
INSTRUMENT_LEDGER = {
    "store_credit": LedgerEntry.Kind.STORE_CREDIT,
    "bank_transfer": LedgerEntry.Kind.PAYOUT,
}


class RefundEventType:
    CREATED = "refund.created"
    ISSUED = "refund.issued"
    FAILED = "refund.failed"
    NOTHING_DUE = "refund.nothing_due"
    INSTANT_QC_FAILED = "refund.instant_qc_failed"


def _promised(order: Order) -> dict[int, Decimal]:
    rows = (
        RefundTender.objects.filter(
            refund__order=order, refund__state__in=[RefundState.PENDING, RefundState.FAILED]
        )
        .values("payment_id")
        .annotate(total=Sum("amount"))
    )
    return {r["payment_id"]: r["total"] for r in rows}


def refund_create_due(ret: Return, actor: EventActor) -> list[Refund]:
    """Reaction to every return change: create the refunds that are now due."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=ret.order_id)
    items = list(
        ReturnItem.objects.filter(return_request=ret).select_related("unit", "reason", "unit__line")
    )
    covered = set(
        RefundItem.objects.filter(unit_id__in=[i.unit_id for i in items]).values_list(
            "unit_id", "kind"
        )
    )
    created = []
    keep = [
        i
        for i in items
        if i.resolution == Resolution.KEEP
        and i.unit.state == UnitState.KEPT
        and (i.unit_id, RefundKind.KEEP_IT) not in covered
    ]
    if keep:
        created += _create(ret, order, keep, RefundKind.KEEP_IT, actor)
    credit = [
        i
        for i in items
        if i.resolution == Resolution.PARTIAL_CREDIT
        and i.unit.state == UnitState.KEPT
        and (i.unit_id, RefundKind.PARTIAL_CREDIT) not in covered
    ]
    if credit:
        created += _create(ret, order, credit, RefundKind.PARTIAL_CREDIT, actor)
    physical = [i for i in items if i.resolution not in NO_PICKUP]
    instant = _instant_due(ret, physical, covered)
    if instant:
        created += _create(ret, order, instant, RefundKind.INSTANT, actor)
        covered |= {(i.unit_id, RefundKind.RETURN) for i in instant}
    _settle_refunded_early(ret, physical, covered, actor)
    if any(i.unit.state in WAITING for i in physical):
        return created
    if any(
        i.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT)
        and not i.dispatched
        and i.unit.state != UnitState.RETURN_REJECTED
        for i in physical
    ):
        return created
    due = [
        i
        for i in physical
        if i.resolution == Resolution.REFUND
        and i.unit.state == UnitState.PENDING_REFUND
        and (i.unit_id, RefundKind.RETURN) not in covered
    ]
    due += [
        i
        for i in physical
        if i.resolution == Resolution.EXCHANGE
        and i.price_difference < 0
        and i.unit.state == UnitState.REPLACED
        and (i.unit_id, RefundKind.EXCHANGE_DIFFERENCE) not in covered
    ]
    if due:
        created += _create(ret, order, due, RefundKind.RETURN, actor)
    return created


def _create(
    ret: Return, order: Order, items: list[ReturnItem], kind: str, actor: EventActor
) -> list[Refund]:
    policy = ret.policy
    payments = list(
        Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("position")
    )
    refunding_ids = {i.unit_id for i in items if i.resolution == Resolution.REFUND}
    others = (
        Unit.objects.filter(order=order)
        .exclude(pk__in=refunding_ids)
        .values_list("state", flat=True)
    )
    stays = any(s in WITH_CUSTOMER for s in others) or any(i.resolution in NO_PICKUP for i in items)
    replaced_any = Unit.objects.filter(order=order, state=UnitState.REPLACED).exists()
    shipping_refunded = Refund.objects.filter(order=order).aggregate(s=Sum("shipping_amount"))[
        "s"
    ] or Decimal("0")
    merchant_fault = any(
        i.reason.merchant_fault
        for i in items
        if i.resolution in (Resolution.REFUND, Resolution.KEEP)
    )
    fees_taken = Refund.objects.filter(return_request=ret).aggregate(s=Sum("fees_amount"))[
        "s"
    ] or Decimal("0")
    needs_pickup = ret.type != ReturnType.DOORSTEP_REFUSAL and any(
        i.resolution == Resolution.REFUND for i in items
    )
    breakdown = price_return(
        currency=order.currency,
        units=[
            PricedUnit(
                i.unit_id,
                i.unit.net_paid,
                i.unit.tax_amount,
                i.resolution,
                i.reason.merchant_fault or i.fees_waived,
                i.price_difference,
            )
            for i in items
        ],
        restocking_fee=policy.restocking_fee,
        return_shipping_fee=policy.return_shipping_fee if fees_taken == 0 else Decimal("0"),
        needs_pickup=needs_pickup,
        charge_fees=ret.type != ReturnType.DOORSTEP_REFUSAL,
        shipping_charge=order.shipping_amount,
        shipping_due=order.shipping_amount > 0
        and shipping_refunded == 0
        and (merchant_fault or not (stays or replaced_any)),
        tenders=tenders_in_policy_order(payments, policy, _promised(order)),
        refund_method=ret.refund_method,
        partial_credit_percent=policy.partial_credit_percent,
    )
    if breakdown.total <= 0:
        _settle_without_money(ret, items, actor, breakdown.as_dict())
        return []
    n = Refund.objects.filter(return_request=ret).count() + 1
    refund = Refund.objects.create(
        order=order,
        return_request=ret,
        kind=kind,
        method=ret.refund_method,
        amount=breakdown.total,
        currency=order.currency,
        items_amount=breakdown.items + breakdown.exchange_difference,
        fees_amount=breakdown.fees,
        shipping_amount=breakdown.shipping,
        breakdown=breakdown.as_dict(),
        idempotency_key=f"{ret.rma}-{n}",
    )
    amounts = {u["unit"]: Decimal(u["amount"]) for u in breakdown.units}
    RefundItem.objects.bulk_create(
        [
            RefundItem(
                refund=refund,
                unit_id=i.unit_id,
                amount=amounts[i.unit_id],
                kind=RefundKind.EXCHANGE_DIFFERENCE
                if i.resolution == Resolution.EXCHANGE
                # An instant refund pays for the returned unit: the same item
                # kind as the refund after QC, so it can never be paid twice.
                else (RefundKind.RETURN if kind == RefundKind.INSTANT else kind),
                tax=_tax_share(i.unit, amounts[i.unit_id], order.currency),
            )
            for i in items
        ]
    )
    RefundTender.objects.bulk_create(
        [
            RefundTender(
                refund=refund,
                payment_id=t["payment"],
                instrument=t["method"],
                amount=Decimal(t["amount"]),
            )
            for t in breakdown.tenders
        ]
    )
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.CREATED,
            "",
            refund.state,
            f"Refund of {refund.amount} {refund.currency} due ({refund.get_kind_display()})",
            {"rma": ret.rma, "breakdown": refund.breakdown},
        ),
    )
    from .tasks import refund_issue_task

    job_enqueue(refund_issue_task, refund.pk)
    return [refund]


def _instant_due(ret: Return, physical: list[ReturnItem], covered: set) -> list[ReturnItem]:
    """Policy may refund low-risk, low-value returns as soon as the courier has
    the units (instead of after QC): pure refund returns only, risk below half
    the threshold, value up to ``instant_refund_max``."""
    policy = ret.policy
    if policy.instant_refund_max <= 0 or ret.risk_score >= policy.risk_threshold / 2:
        return []
    if ret.type not in (ReturnType.PARTIAL_RETURN,) or any(
        i.resolution != Resolution.REFUND for i in physical
    ):
        return []
    picked = [
        i
        for i in physical
        if i.unit.state in (UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED)
        and (i.unit_id, RefundKind.RETURN) not in covered
    ]
    if not picked:
        return []
    if sum((i.unit.net_paid for i in physical), Decimal("0")) > policy.instant_refund_max:
        return []
    return picked


def _settle_refunded_early(
    ret: Return, physical: list[ReturnItem], covered: set, actor: EventActor
) -> None:
    """Units refunded instantly settle when they pass QC; a unit that fails QC
    after its instant refund is flagged for an agent (the money is gone)."""
    early = [i for i in physical if (i.unit_id, RefundKind.RETURN) in covered]
    if not early:
        return
    issued = set(
        RefundItem.objects.filter(
            unit_id__in=[i.unit_id for i in early],
            kind=RefundKind.RETURN,
            refund__state=RefundState.ISSUED,
        ).values_list("unit_id", flat=True)
    )
    settle = [
        i.unit for i in early if i.unit.state == UnitState.PENDING_REFUND and i.unit_id in issued
    ]
    units_transition(
        settle,
        "mark_refunded",
        actor=actor,
        message="refunded at pickup (instant refund)",
        payload={"rma": ret.rma},
    )
    failed = [i for i in early if i.unit.state == UnitState.RETURN_REJECTED]
    flagged = set(
        TimelineEvent.objects.filter(
            order_id=ret.order_id, type=RefundEventType.INSTANT_QC_FAILED
        ).values_list("entity_id", flat=True)
    )
    for item in failed:
        if str(item.unit_id) in flagged:
            continue
        timeline_record(
            order=ret.order_id,
            actor=actor,
            event=Event(
                "unit",
                item.unit_id,
                RefundEventType.INSTANT_QC_FAILED,
                message=(
                    f"Unit {item.unit_id} failed QC after an instant refund: an agent must decide whether to "
                    "recover the money or send the unit back"
                ),
                payload={"rma": ret.rma},
            ),
        )


def _tax_share(unit: Unit, amount: Decimal, currency: str = "INR") -> Decimal:
    if not unit.net_paid:
        return Decimal("0.00")
    return round_money(unit.tax_amount * amount / unit.net_paid, currency)


def _settle_without_money(
    ret: Return, items: list[ReturnItem], actor: EventActor, breakdown: dict
) -> None:
    units = [i.unit for i in items if i.unit.state == UnitState.PENDING_REFUND]
    units_transition(
        units,
        "mark_refunded",
        actor=actor,
        message="nothing to refund after fees",
        payload={"rma": ret.rma, "breakdown": breakdown},
    )
    timeline_record(
        order=ret.order_id,
        actor=actor,
        event=Event(
            "refund",
            ret.rma,
            RefundEventType.NOTHING_DUE,
            message="Nothing to refund",
            payload=breakdown,
        ),
    )


def refund_issue_failed(*, refund_id: int, actor: EventActor, exc: GatewayError) -> None:
    """Record a gateway failure on a refund not issued yet (its own
    transaction: the issuing one rolled back)."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update(of=("self",)).get(pk=refund_id)
        if refund.state != RefundState.ISSUED:
            before = refund.state
            refund.fail(str(exc))
            refund.attempts += 1
            refund.save()
            timeline_record(
                order=refund.order_id,
                actor=actor,
                event=Event(
                    "refund",
                    refund.pk,
                    RefundEventType.FAILED,
                    before,
                    refund.state,
                    f"Gateway failed: {exc}"[:500],
                ),
            )


def refund_issue_money(refund_id: int, actor: EventActor) -> tuple[Refund, bool]:
    """Move the money of a pending (or failed) refund through the gateway.
    Idempotent: an issued refund is left alone (False), and gateway calls are
    keyed per tender, so a task that runs twice moves money once. The return's
    reactions follow in ``flows.refunds.refund_issue``."""
    # The order's lock first, as every other writer of its money takes it
    # (see returns.services.common.return_get_for_update): without it, issuing
    # (refund → payments → order) deadlocks with a QC making another refund of
    # the same order due (order → payments).
    order_id = Refund.objects.filter(pk=refund_id).values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    list(Order.objects.select_for_update().filter(pk=order_id).values_list("pk", flat=True))
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("order", "return_request")
        .filter(pk=refund_id)
        .first()
    )
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    if refund.state == RefundState.ISSUED:
        return refund, False
    order = refund.order
    payments = {
        p.pk: p
        for p in Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk")
    }
    tenders = list(refund.tenders.order_by("pk"))
    ret = refund.return_request
    details = ret.payout_details if ret else {}
    for tender in tenders:
        payment = payments[tender.payment_id]
        if tender.amount > payment.refundable:
            raise Conflict(
                f"Tender {payment.method} can give back at most {payment.refundable}.",
                code="refund_exceeds_captured",
            )
        gateway = gateway_for(tender.instrument)
        result = gateway.refund(
            idempotency_key=f"{refund.idempotency_key}-t{tender.pk}",
            payment=payment,
            instrument=tender.instrument,
            amount=tender.amount,
            details=details if tender.instrument == "bank_transfer" else {},
        )
        RefundTender.objects.filter(pk=tender.pk).update(
            gateway=gateway.name, gateway_reference=result.reference
        )
        payment_refund_record(
            order=order,
            payment=payment,
            amount=tender.amount,
            ledger_kind=INSTRUMENT_LEDGER.get(tender.instrument, LedgerEntry.Kind.REFUND),
            reference=result.reference,
            actor=actor,
            message=f"{tender.amount} {order.currency} back via {tender.instrument}",
            payload={"refund": refund.pk, "reference": result.reference},
        )
    credit_total = sum((t.amount for t in tenders if t.instrument == "store_credit"), Decimal("0"))
    if credit_total:
        StoreCredit.objects.create(
            customer_id=order.customer_id,
            refund=refund,
            code=new_reference("SC", 10),
            amount=credit_total,
            currency=order.currency,
        )
    before = refund.state
    refund.issue(timezone.now())
    refund.attempts += 1
    refund.save()
    note = _credit_note(refund)
    units = list(
        Unit.objects.select_for_update(of=("self",))
        .filter(refund_items__refund=refund, state=UnitState.PENDING_REFUND)
        .order_by("pk")
    )
    units_transition(
        units,
        "mark_refunded",
        actor=actor,
        message=f"refunded ({note.number})",
        payload={"refund": refund.pk},
    )
    timeline_record(
        order=order,
        actor=actor,
        event=Event(
            "refund",
            refund.pk,
            RefundEventType.ISSUED,
            before,
            refund.state,
            f"Refund of {refund.amount} {refund.currency} issued; credit note {note.number}",
            {
                "credit_note": note.number,
                "tenders": [{"instrument": t.instrument, "amount": str(t.amount)} for t in tenders],
            },
        ),
    )
    how = {
        "original": "to your original payment method",
        "store_credit": "as store credit",
        "bank_transfer": "to your bank account / UPI",
    }.get(refund.method, "")
    message_enqueue(
        order=order,
        template="refund_issued",
        subject=f"Your refund of {refund.amount} {refund.currency} is on its way",
        body=f"We've issued a refund of {refund.amount} {refund.currency} {how} for order {order.number}. "
        f"Credit note {note.number}. Banks usually show it within 5–7 working days.",
    )
    refund_issued_webhook(refund, note)
    return refund, True


def _credit_note(refund: Refund) -> CreditNote:
    lines = []
    taxable_total = tax_total = Decimal("0")
    for item in refund.items.select_related("unit__line", "unit__sku").order_by("pk"):
        taxable = item.amount - item.tax
        lines.append(
            {
                "unit": item.unit_id,
                "sku": item.unit.sku.code,
                "description": item.unit.sku.name,
                "kind": item.kind,
                "tax_rate": str(item.unit.line.tax_rate),
                "taxable": str(taxable),
                "tax": str(item.tax),
                "total": str(item.amount),
            }
        )
        taxable_total += taxable
        tax_total += item.tax
    if refund.fees_amount:
        lines.append(
            {
                "description": "Return fees",
                "total": str(-refund.fees_amount),
                "taxable": str(-refund.fees_amount),
                "tax": "0.00",
            }
        )
        taxable_total -= refund.fees_amount
    if refund.shipping_amount:
        lines.append(
            {
                "description": "Shipping charge",
                "total": str(refund.shipping_amount),
                "taxable": str(refund.shipping_amount),
                "tax": "0.00",
            }
        )
        taxable_total += refund.shipping_amount
    number = f"CN-{local_day(timezone.now()).year}-{refund.pk:07d}"
    return CreditNote.objects.create(
        refund=refund,
        number=number,
        issued_at=refund.issued_at,
        lines=lines,
        taxable_total=taxable_total,
        tax_total=tax_total,
        total=refund.amount,
        currency=refund.currency,
    )


def refund_retry_check(*, refund_id: int) -> None:
    """A refund can be retried unless it is issued (409) or missing (404)."""
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"Refund {refund_id} does not exist.")
    if refund.state == RefundState.ISSUED:
        raise Conflict(
            f"Refund {refund_id} is already issued.",
            code="invalid_state",
            extra={"state": refund.state},
        )


def refunds_by_return(ret_ids: list[int]) -> dict[int, list[Refund]]:
    out: dict[int, list[Refund]] = defaultdict(list)
    for r in (
        Refund.objects.filter(return_request_id__in=ret_ids)
        .select_related("credit_note")
        .prefetch_related("tenders")
    ):
        out[r.return_request_id].append(r)
    return out


def refund_escalate(*, ret: Return, reason: str, new_date, actor: EventActor) -> int:
    """Escalate the return's refunds that are still not issued to finance, and
    tell the customer the new date. Returns how many were escalated."""
    now = timezone.now()
    refunds = list(
        Refund.objects.select_for_update(of=("self",)).filter(
            return_request=ret,
            state__in=[RefundState.PENDING, RefundState.FAILED],
            escalated_at__isnull=True,
        )
    )
    if not refunds:
        return 0
    Refund.objects.filter(pk__in=[r.pk for r in refunds]).update(escalated_at=now)
    for refund in refunds:
        timeline_record(
            order=ret.order_id,
            actor=actor,
            event=Event(
                "refund",
                refund.pk,
                "refund.escalated",
                refund.state,
                refund.state,
                f"Escalated to finance: {reason}",
                {"rma": ret.rma, "new_date": new_date.isoformat()},
            ),
        )
    return len(refunds)
