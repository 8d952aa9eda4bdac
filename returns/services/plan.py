"""Planning a return without writing: the request and plan types, the
per-unit eligibility checks, classification and risk. The refund estimate is
refunds' (``refunds.calculator.refund_quote``, called by ``flows.return_intake``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from django.db.models.expressions import RawSQL
from django.utils import timezone

from inventory.models import SKU
from inventory.states import LocationKind
from oms.config_cache import config_cached
from oms.dates import add_months, fmt, local
from oms.errors import ApplicationError, Conflict
from oms.prepared import prepared
from orders.allocation import exchange_difference
from orders.models import Order, Payment, Unit
from orders.states import OPEN_RETURN_STATES, UnitState

from ..models import ReturnPolicy, ReturnReason
from ..risk import recent_returns_since, recent_returns_sql, return_risk
from ..states import RefundMethod, Resolution, ReturnType
from .common import policy_current
from .eligibility import unit_never_returnable

IFSC = r"^[A-Z]{4}0[A-Z0-9]{6}$"
UPI = r"^[\w.\-]{2,256}@[A-Za-z]{2,64}$"


@dataclass
class ItemRequest:
    reason: str
    resolution: str
    unit: int | None = None
    line: int | None = None
    quantity: int = 1
    exchange_sku: str | None = None
    serial: str = ""
    note: str = ""
    defect_type: str = ""


@dataclass
class ReturnRequest:
    order: str
    items: list[ItemRequest]
    refund_method: str = RefundMethod.ORIGINAL
    payout: dict = field(default_factory=dict)
    location: str | None = None
    channel: str = "api"
    override_eligibility: bool = False


@dataclass
class PlannedItem:
    unit: Unit
    reason: ReturnReason
    resolution: str
    exchange_sku: SKU | None
    price_difference: Decimal
    serial: str
    note: str
    defect_code: str = ""


@dataclass
class Plan:
    order: Order
    policy: ReturnPolicy
    items: list[PlannedItem]
    type: str
    is_full_return: bool
    risk_score: int
    risk_reasons: list[str]
    breakdown: dict  # filled by refunds (``refund_quote``)
    payments: list[Payment]
    units: list[Unit] = field(default_factory=list)  # every unit of the order


@dataclass
class PlanDraft:
    """A request checked unit by unit (``return_plan_units``), before the
    refund-method check, classification, risk and estimate
    (``return_plan_finish``). Quality validates the items in between."""

    req: ReturnRequest
    order: Order
    policy: ReturnPolicy
    units: dict[int, Unit]
    items: list[PlannedItem]
    chosen: set[int]


def _err(field_: str, message: str, code: str = "invalid", **extra) -> ApplicationError:
    return ApplicationError(f"{field_}: {message}", code=code, extra={"field": field_, **extra})


def window_ends_at(
    unit: Unit, policy: ReturnPolicy, reason: ReturnReason | None = None
) -> datetime | None:
    if unit.delivered_at is None:
        return None
    ends = unit.delivered_at + timedelta(days=policy.window_days)
    if reason is not None and reason.defect and unit.sku.warranty_months:
        ends = max(ends, add_months(unit.delivered_at, unit.sku.warranty_months))
    return ends


def sku_is_returnable(sku: SKU, policy: ReturnPolicy) -> bool:
    return (
        sku.returnable
        and sku.code not in policy.non_returnable_skus
        and sku.category not in policy.non_returnable_categories
    )


def _load_order(number: str, *, lock: bool) -> Order:
    """The order; to create a return (``lock``), locked and with
    ``default_location_id``: where a return without a warehouse of its own
    goes (``inventory.services.location_default``)."""
    found = (_order_locked if lock else _order_read)(number)
    if not found:
        raise _err("order", f"order {number!r} does not exist.", code="unknown_order")
    return found[0]


@prepared
def _order_read(number):
    # Not the payload as received (``raw``, large for a storefront's order).
    # number is unique: no ORDER BY.
    return (
        Order.objects.select_related("customer", "channel")
        .defer("raw")
        .filter(number=number)
        .order_by()[:1]
    )


@prepared
def _order_locked(number):
    warehouse = [LocationKind.WAREHOUSE.value]
    return (
        Order.objects.select_related("customer", "channel")
        .defer("raw")
        .select_for_update(of=("self",))
        .annotate(
            default_location_id=RawSQL(_default_location_sql(), warehouse)  # noqa: S611 - fixed SQL, values bound
        )
        .filter(number=number)
        .order_by()[:1]
    )


@cache
def _default_location_sql() -> str:
    """``location_default``'s id as a scalar subquery (as SQL: compiled as a
    queryset expression it cost more than a query of its own)."""
    from django.db import connection

    from inventory.models import Location

    table = connection.ops.quote_name(Location._meta.db_table)
    return (
        f"SELECT COALESCE((SELECT id FROM {table} WHERE is_default ORDER BY code LIMIT 1), "  # noqa: S608 - quoted table name, values bound
        f"(SELECT id FROM {table} WHERE kind = %s ORDER BY id LIMIT 1))"
    )


def _units_query(order_id):
    return (
        Unit.objects.filter(order_id=order_id)
        .select_related("sku", "line")
        .order_by("line_id", "index")
    )


@prepared
def _units_of_order(order_id):
    return _units_query(order_id)


@prepared
def _units_of_order_counted(order_id, customer_id, since):
    """``_units_of_order``, each unit with the customer's recent returns
    (``returns.risk.recent_returns``'s count, one subquery for the statement)."""
    sql, params = recent_returns_sql()
    return _units_query(order_id).annotate(
        recent_returns_count=RawSQL(sql, [customer_id, since, *params])  # noqa: S611 - fixed SQL, values bound
    )


@prepared
def _sku_by_code(code):
    return SKU.objects.filter(code=code)


def _skus_by_code(codes: set[str]) -> dict[str, SKU]:
    """``SKU.objects.in_bulk(codes, field_name="code")``; an exchange names
    one SKU or two, each read by a statement compiled once."""
    if len(codes) > 2:
        return SKU.objects.in_bulk(list(codes), field_name="code")
    return {sku.code: sku for code in sorted(codes) for sku in _sku_by_code(code)}


@prepared
def _active_reasons():
    return ReturnReason.objects.filter(active=True)


def active_reasons() -> list[ReturnReason]:
    """The reasons a return may give, kept per process for a few seconds
    (``oms.config_cache``)."""
    return config_cached(("reasons",), _active_reasons)


def _order_units(order: Order, *, count_returns: bool = False) -> dict[int, Unit]:
    """Every unit of the order with its SKU and line, by id; a replacement
    line's original unit (``unit_never_returnable`` reads it) is set from
    these when it is one of them (an exchange's replacement is added to the
    order it replaces a unit of), else read with one more query.

    ``count_returns`` (a creation, after the order's lock): the same
    statement counts the customer's recent returns for the risk score, set as
    ``order.recent_returns_count``. After the lock, not with it: a statement
    that waits for a lock reads the other tables as they were before the
    wait, and would miss a return another creation committed on this order
    meanwhile."""
    if count_returns and order.customer_id is not None:
        rows = _units_of_order_counted(order.pk, order.customer_id, recent_returns_since())
        if rows:
            order.recent_returns_count = rows[0].recent_returns_count
    else:
        rows = _units_of_order(order.pk)
    units = {u.pk: u for u in rows}
    lines = [u.line for u in units.values() if u.line.replacement_for_id]
    if lines:
        missing = {ln.replacement_for_id for ln in lines} - set(units)
        originals = Unit.objects.in_bulk(missing) if missing else {}
        for line in lines:
            line.replacement_for = units.get(line.replacement_for_id) or originals.get(
                line.replacement_for_id
            )
    return units


def return_plan_units(req: ReturnRequest, *, lock: bool = False) -> PlanDraft:
    """Validate a return request unit by unit, without writing. ``lock``
    (inside a transaction) locks the order first, so returns of one order are
    decided one at a time. ``flows.return_intake.return_plan`` runs quality's
    item validation next, then ``return_plan_finish``."""
    if not req.items:
        raise _err("items", "a return needs at least one item.")
    order = _load_order(req.order, lock=lock)
    policy = policy_current()
    units = _order_units(order, count_returns=lock)
    reasons = {r.code: r for r in active_reasons()}
    exchange_codes = {i.exchange_sku for i in req.items if i.exchange_sku}
    exchange_skus = _skus_by_code(exchange_codes) if exchange_codes else {}
    now = timezone.now()
    chosen: set[int] = set()
    planned: list[PlannedItem] = []
    for i, item in enumerate(req.items):
        f = f"items[{i}]"
        reason = reasons.get(item.reason)
        if reason is None:
            raise _err(
                f"{f}.reason", f"unknown reason code {item.reason!r}.", code="unknown_reason"
            )
        if item.resolution not in Resolution.values:
            raise _err(f"{f}.resolution", f"must be one of {', '.join(Resolution.values)}.")
        if item.unit is not None:
            unit = units.get(item.unit)
            if unit is None:
                raise _err(
                    f"{f}.unit",
                    f"unit {item.unit} is not part of order {order.number}.",
                    code="unit_not_in_order",
                )
            picked = [unit]
        elif item.line is not None:
            line_units = [u for u in units.values() if u.line_id == item.line]
            if not line_units:
                raise _err(
                    f"{f}.line",
                    f"line {item.line} is not part of order {order.number}.",
                    code="line_not_in_order",
                )
            if item.quantity <= 0:
                raise _err(f"{f}.quantity", "must be positive.")
            never = {u.pk: unit_never_returnable(u) for u in line_units}
            free = [
                u
                for u in line_units
                if u.state == UnitState.DELIVERED and u.pk not in chosen and never[u.pk] is None
            ]
            refused = [why for why in never.values() if why is not None]
            if len(free) < item.quantity and refused:
                raise _err(
                    f"{f}.quantity",
                    f"asks for {item.quantity} but only {len(free)} unit(s) of line {item.line} "
                    f"are returnable: {refused[0][1]}",
                    code=refused[0][0],
                    returnable=len(free),
                )
            if len(free) < item.quantity:
                busy = [u for u in line_units if u.state in OPEN_RETURN_STATES]
                if busy and len(free) + len(busy) >= item.quantity:
                    raise Conflict(
                        f"{f}: units of line {item.line} are already in another open return.",
                        code="units_in_open_return",
                        extra={"field": f, "units": [u.pk for u in busy]},
                    )
                raise _err(
                    f"{f}.quantity",
                    f"asks for {item.quantity} but only {len(free)} unit(s) of line {item.line} "
                    "are returnable.",
                    code="not_returnable",
                    returnable=len(free),
                )
            picked = free[: item.quantity]
        else:
            raise _err(f, "give a unit or a line with a quantity.")
        for unit in picked:
            planned.append(
                _check_unit(
                    f, unit, item, reason, policy, req, chosen, exchange_skus, now, order.currency
                )
            )
            chosen.add(unit.pk)
    return PlanDraft(req, order, policy, units, planned, chosen)


def return_plan_finish(draft: PlanDraft, payments: list[Payment]) -> Plan:
    """The rest of the plan: refund method, type and risk. ``payments`` are
    the order's (refunds reads them with their money state)."""
    req, order, policy, units = draft.req, draft.order, draft.policy, draft.units
    planned, chosen = draft.items, draft.chosen
    _check_refund_method(req, policy, payments, planned)
    all_units = [u for u in units.values() if u.state != UnitState.CANCELLED]
    is_full = len(chosen) == len(all_units)
    type_ = classify(planned)
    score, risk_reasons = return_risk(
        order=order,
        policy=policy,
        units=[p.unit for p in planned],
        serials={p.unit.pk: p.serial for p in planned if p.serial},
        previous=getattr(order, "recent_returns_count", None),
    )
    return Plan(
        order,
        policy,
        planned,
        type_,
        is_full,
        score,
        risk_reasons,
        {},
        payments,
        list(units.values()),
    )


def _check_unit(
    f, unit, item, reason, policy, req, chosen, exchange_skus, now, currency
) -> PlannedItem:
    if unit.pk in chosen:
        raise _err(f"{f}.unit", f"unit {unit.pk} is listed twice.")
    if unit.state in OPEN_RETURN_STATES:
        raise Conflict(
            f"{f}: unit {unit.pk} is already in an open return.",
            code="units_in_open_return",
            extra={"field": f, "units": [unit.pk], "state": unit.state},
        )
    if unit.state != UnitState.DELIVERED:
        raise _err(
            f"{f}.unit",
            f"unit {unit.pk} is {unit.get_state_display().lower()}, not delivered.",
            code="not_returnable",
            state=unit.state,
        )
    never = unit_never_returnable(unit)
    if never is not None:
        raise _err(f"{f}.unit", never[1], code=never[0])
    override = req.override_eligibility
    if not override and not reason.defect and not sku_is_returnable(unit.sku, policy):
        raise _err(
            f"{f}.unit",
            f"{unit.sku.code} is not returnable under policy v{policy.version}.",
            code="non_returnable_sku",
        )
    ends = window_ends_at(unit, policy, reason)
    if item.resolution == Resolution.EXCHANGE and not reason.defect:
        ends = unit.delivered_at + timedelta(days=policy.exchange_window_days)
    if not override and ends is not None and ends < now:
        raise _err(
            f"{f}.unit",
            f"the return window for unit {unit.pk} closed on {fmt(ends)}.",
            code="window_closed",
            window_ends_at=local(ends).isoformat(),
        )
    exchange_sku = None
    difference = Decimal("0.00")
    if item.resolution == Resolution.EXCHANGE:
        if not item.exchange_sku:
            raise _err(f"{f}.exchange_sku", "is required for an exchange.")
        exchange_sku = exchange_skus.get(item.exchange_sku)
        if exchange_sku is None:
            raise _err(
                f"{f}.exchange_sku", f"unknown SKU {item.exchange_sku!r}.", code="unknown_sku"
            )
        if exchange_sku.product_id != unit.sku.product_id:
            raise _err(
                f"{f}.exchange_sku",
                f"{exchange_sku.code} is not a variant of the same product as {unit.sku.code}.",
            )
        if exchange_sku.pk == unit.sku_id:
            raise _err(f"{f}.exchange_sku", "is the same SKU; ask for a replacement instead.")
        difference = exchange_difference(
            net_paid=unit.net_paid,
            old_price=unit.sku.price or unit.line.unit_price,
            new_price=exchange_sku.price,
            currency=currency,
        )
    elif item.resolution == Resolution.REPLACEMENT:
        exchange_sku = unit.sku
    elif item.resolution in (Resolution.PARTIAL_CREDIT, Resolution.REPAIR) and not reason.defect:
        raise _err(
            f"{f}.resolution",
            f"{item.resolution} is a warranty outcome, only for a defect or damage reason.",
            code="resolution_not_allowed",
        )
    elif (
        item.resolution == Resolution.KEEP
        and not override
        and unit.net_paid > policy.keep_it_max_value
    ):
        raise _err(
            f"{f}.resolution",
            f"keep-it is only offered for items up to {policy.keep_it_max_value}.",
            code="keep_not_allowed",
        )
    return PlannedItem(
        unit,
        reason,
        item.resolution,
        exchange_sku,
        difference,
        item.serial,
        item.note,
        item.defect_type,
    )


def _check_refund_method(
    req: ReturnRequest, policy: ReturnPolicy, payments: list[Payment], planned
) -> None:
    if req.refund_method not in RefundMethod.values:
        raise _err("refund_method", f"must be one of {', '.join(RefundMethod.values)}.")
    money_back = any(
        p.resolution in (Resolution.REFUND, Resolution.KEEP, Resolution.PARTIAL_CREDIT)
        or p.price_difference < 0
        for p in planned
    )
    if not money_back:
        # Nothing to refund now, but the return may turn into money later
        # (an exchange converted to a refund): keep a method the tenders allow.
        allowed = policy.allowed_refund_methods([p.method for p in payments])
        if allowed and req.refund_method not in allowed:
            req.refund_method = "store_credit" if "store_credit" in allowed else allowed[0]
        return
    allowed = policy.allowed_refund_methods([p.method for p in payments])
    if req.refund_method not in allowed:
        raise _err(
            "refund_method",
            f"{req.refund_method} is not available for this order's payment "
            f"({', '.join(sorted({p.method for p in payments}))}); choose {' or '.join(allowed)}.",
            code="refund_method_not_allowed",
            allowed=allowed,
        )
    if req.refund_method == RefundMethod.BANK_TRANSFER:
        import re

        payout = req.payout or {}
        if payout.get("upi_id"):
            if not re.match(UPI, payout["upi_id"]):
                raise _err("payout.upi_id", "is not a valid UPI id (name@bank).")
        elif payout.get("account_number") and payout.get("ifsc") and payout.get("account_name"):
            if not re.match(IFSC, payout["ifsc"].upper()):
                raise _err("payout.ifsc", "is not a valid IFSC code (e.g. HDFC0001234).")
            if (
                not str(payout["account_number"]).isdigit()
                or not 6 <= len(str(payout["account_number"])) <= 18
            ):
                raise _err("payout.account_number", "must be 6 to 18 digits.")
        else:
            raise _err(
                "payout", "a bank transfer needs upi_id, or account_name, account_number and ifsc."
            )


def classify(planned: list[PlannedItem]) -> str:
    if any(p.reason.defect for p in planned):
        return ReturnType.QUALITY_REJECTION
    if any(p.resolution in (Resolution.EXCHANGE, Resolution.REPLACEMENT) for p in planned):
        return ReturnType.EXCHANGE
    return ReturnType.PARTIAL_RETURN


def quote_from_plan(plan: Plan) -> dict:
    return {
        "type": plan.type,
        "is_full_return": plan.is_full_return,
        "breakdown": plan.breakdown,
        "risk": {
            "score": plan.risk_score,
            "reasons": plan.risk_reasons,
            "held": plan.risk_score >= plan.policy.risk_threshold,
        },
    }
