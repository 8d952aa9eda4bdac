"""The one way stock changes: ``stock_move``.

Every call writes ledger rows and updates balances in one transaction.
Decrements are conditional updates (``quantity >= n``), so two concurrent
reservations of the last unit cannot both succeed: the row lock taken by the
UPDATE serialises them and the loser sees zero rows updated. The database
constraint ``quantity >= 0`` backs this up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When

from oms.errors import ApplicationError, Conflict
from oms.prepared import insert_rows, run_sql

from .models import SKU, Location, Product, StockBalance, StockMovement
from .states import ADJUSTABLE_IN, ADJUSTABLE_OUT, DISPOSITIONS, NEVER_SELLABLE_AGAIN, Bucket


class InsufficientStock(Conflict):
    default_code = "insufficient_stock"


@dataclass(frozen=True)
class Move:
    sku_id: int
    location_id: int
    quantity: int
    from_bucket: str | None = None
    to_bucket: str | None = None


def _check_move(move: Move) -> None:
    if move.quantity <= 0:
        raise ApplicationError("Quantity to move must be positive.", code="invalid_quantity")
    if move.from_bucket is None and move.to_bucket is None:
        raise ApplicationError("A move needs a source or a destination bucket.")
    if move.from_bucket == move.to_bucket:
        raise ApplicationError("Source and destination bucket are the same.")
    if move.from_bucket in NEVER_SELLABLE_AGAIN and move.to_bucket in {
        Bucket.SELLABLE,
        Bucket.RESERVED,
        Bucket.REFURBISH,
    }:
        raise ApplicationError(
            f"Stock in {move.from_bucket} can never become sellable again.",
            code="never_sellable",
        )


def _check_transfer(moves: list[Move]) -> None:
    """Across one transfer too: a SKU taken out of quarantine or liquidation
    may not be put into a sellable bucket in the same call, whatever the
    moves are split into."""
    out_of_reject = {m.sku_id for m in moves if m.from_bucket in NEVER_SELLABLE_AGAIN}
    into_sale = {
        m.sku_id
        for m in moves
        if m.to_bucket in {Bucket.SELLABLE, Bucket.RESERVED, Bucket.REFURBISH}
    }
    if out_of_reject & into_sale:
        raise ApplicationError(
            "Stock leaving quarantine or liquidation can never become sellable again, "
            "not even through a transfer split into several moves.",
            code="never_sellable",
        )


def stock_move_many(
    moves: list[Move],
    *,
    reason: str,
    reference: str = "",
    note: str = "",
    savepoint: bool = True,
) -> uuid.UUID:
    """Apply several moves atomically, in a constant number of queries however
    many SKUs they touch. On PostgreSQL every balance row involved is locked
    first in a fixed order (sku, location, bucket), so concurrent callers
    cannot deadlock; then one UPDATE applies every change (each decrement only
    if ``quantity >= n``).

    ``savepoint=False``: for a caller whose whole transaction fails with a
    refused move (``InsufficientStock`` rolls it all back), no savepoint of
    its own; a caller that catches the refusal and goes on keeps the default."""
    with transaction.atomic(savepoint=savepoint):
        return _move_many(moves, reason=reason, reference=reference, note=note)


def _move_many(moves: list[Move], *, reason: str, reference: str, note: str) -> uuid.UUID:
    transfer_id = uuid.uuid4()
    for move in moves:
        _check_move(move)
    _check_transfer(moves)
    decrements: dict[tuple[int, int, str], int] = {}
    increments: dict[tuple[int, int, str], int] = {}
    for move in moves:
        if move.from_bucket:
            k = (move.sku_id, move.location_id, move.from_bucket)
            decrements[k] = decrements.get(k, 0) + move.quantity
        if move.to_bucket:
            k = (move.sku_id, move.location_id, move.to_bucket)
            increments[k] = increments.get(k, 0) + move.quantity
    if connection.vendor == "postgresql":
        _apply_set_based(decrements, increments)
    else:
        if increments:
            _balances_ensure(increments)
        _apply_per_key(decrements, increments)
    insert_rows(
        [
            StockMovement(
                sku_id=sku_id,
                location_id=location_id,
                bucket=bucket,
                delta=sign * qty,
                reason=reason,
                reference=reference,
                transfer_id=transfer_id,
                note=note,
            )
            for sign, side in ((-1, decrements), (1, increments))
            for (sku_id, location_id, bucket), qty in sorted(side.items())
        ]
    )
    return transfer_id


def _apply_per_key(
    decrements: dict[tuple[int, int, str], int], increments: dict[tuple[int, int, str], int]
) -> None:
    """Any database: one conditional UPDATE for the decrements (Case/When per
    key), one for the increments. SQLite's BEGIN IMMEDIATE serialises writers."""
    if connection.features.has_select_for_update:
        list(
            StockBalance.objects.select_for_update()
            .filter(_keys_q(set(decrements) | set(increments)))
            .order_by("sku_id", "location_id", "bucket")
            .values_list("pk", flat=True)
        )
    if decrements:
        enough = Q()
        for (sku_id, location_id, bucket), qty in decrements.items():
            enough |= Q(sku_id=sku_id, location_id=location_id, bucket=bucket, quantity__gte=qty)
        updated = StockBalance.objects.filter(enough).update(
            quantity=F("quantity") - _by_key(decrements)
        )
        if updated != len(decrements):
            _raise_short(decrements)
    if increments:
        StockBalance.objects.filter(_keys_q(set(increments))).update(
            quantity=F("quantity") + _by_key(increments)
        )


_UNNEST = "unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::int[]) AS k(sku_id, location_id, bucket, qty)"
_MATCH = "b.sku_id = k.sku_id AND b.location_id = k.location_id AND b.bucket = k.bucket"


def _columns(amounts: dict[tuple[int, int, str], int]) -> list[list]:
    keys = sorted(amounts)
    return [
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [amounts[k] for k in keys],
    ]


def _apply_set_based(
    decrements: dict[tuple[int, int, str], int], increments: dict[tuple[int, int, str], int]
) -> None:
    """PostgreSQL: whatever the number of keys, three statements built from
    arrays, each prepared on the server once per connection (``run_sql``).
    The balances the increments land in are created where missing first,
    before any lock is taken (creating them after locking the others let two
    moves wait on each other). Then every balance row involved is locked in
    (sku, location, bucket) order, so concurrent moves cannot deadlock, and
    one UPDATE applies each key's signed change: a decrement only where
    ``quantity >= qty``. If any key cannot give its quantity, the move raises
    and rolls back, naming that key.

    A key both given and taken in one move (never made by the services; a
    caller's own list could) is decremented, checked and incremented by
    three statements, as one signed change would check the sum only."""
    table = connection.ops.quote_name(StockBalance._meta.db_table)
    if increments:
        # the balances the increments land in, created where missing (a
        # concurrent creator's row is kept), before any row is locked
        run_sql(
            f"INSERT INTO {table} (sku_id, location_id, bucket, quantity) "  # noqa: S608 - quoted table, bound values
            f"SELECT k.sku_id, k.location_id, k.bucket, 0 FROM {_UNNEST} "
            "ORDER BY k.sku_id, k.location_id, k.bucket ON CONFLICT DO NOTHING",
            _columns(increments),
            what="stock_balances_ensure",
        )
    if set(decrements) & set(increments):
        _apply_in_steps(table, decrements, increments)
        return
    signed = {**{k: -q for k, q in decrements.items()}, **increments}
    _lock(table, signed)
    # A statement of its own after the lock: under READ COMMITTED it reads the
    # rows as the transactions it waited for left them. (Locking in the same
    # statement read them as they were before the wait: a decrement that a
    # concurrent restock made possible was refused.)
    _changed, rows = run_sql(
        f"UPDATE {table} b SET quantity = b.quantity + k.qty FROM {_UNNEST} "  # noqa: S608 - quoted table, bound values
        f"WHERE {_MATCH} AND b.quantity + k.qty >= 0 RETURNING b.sku_id, b.location_id, b.bucket",
        _columns(signed),
        what="stock_apply",
        fetch=True,
    )
    if len(rows) != len(signed):
        _raise_short(decrements, changed=rows)


def _lock(table: str, keys: dict) -> None:
    """Lock every balance row of ``keys`` in (sku, location, bucket) order."""
    run_sql(
        f"SELECT b.id FROM {table} b JOIN {_UNNEST} ON {_MATCH} "  # noqa: S608 - quoted table, bound values
        "ORDER BY b.sku_id, b.location_id, b.bucket FOR UPDATE OF b",
        _columns(dict.fromkeys(keys, 0)),
        what="stock_balances_lock",
        fetch=True,
    )


def _apply_in_steps(
    table: str,
    decrements: dict[tuple[int, int, str], int],
    increments: dict[tuple[int, int, str], int],
) -> None:
    """Lock every key in order, apply the decrements (each only where
    ``quantity >= qty``), then the increments."""
    _lock(table, {**decrements, **increments})
    changed, rows = run_sql(
        f"UPDATE {table} b SET quantity = b.quantity - k.qty FROM {_UNNEST} "  # noqa: S608 - as above
        f"WHERE {_MATCH} AND b.quantity >= k.qty RETURNING b.sku_id, b.location_id, b.bucket",
        _columns(decrements),
        what="stock_decrement",
        fetch=True,
    )
    if changed != len(decrements):
        _raise_short(decrements, changed=rows)
    run_sql(
        f"UPDATE {table} b SET quantity = b.quantity + k.qty FROM {_UNNEST} WHERE {_MATCH}",  # noqa: S608 - as above
        _columns(increments),
        what="stock_increment",
    )


def _balances_ensure(keys: dict[tuple[int, int, str], int]) -> None:
    """A zero balance for each (sku, location, bucket) that has none."""
    StockBalance.objects.bulk_create(
        [
            StockBalance(sku_id=s, location_id=loc, bucket=b, quantity=0)
            for (s, loc, b) in sorted(keys)
        ],
        ignore_conflicts=True,
    )


def _keys_q(keys: set[tuple[int, int, str]]) -> Q:
    q = Q()
    for sku_id, location_id, bucket in sorted(keys):
        q |= Q(sku_id=sku_id, location_id=location_id, bucket=bucket)
    return q


def _by_key(amounts: dict[tuple[int, int, str], int]) -> Case:
    return Case(
        *[
            When(sku_id=sku_id, location_id=location_id, bucket=bucket, then=Value(qty))
            for (sku_id, location_id, bucket), qty in sorted(amounts.items())
        ],
        default=Value(0),
        output_field=IntegerField(),
    )


def _raise_short(decrements: dict[tuple[int, int, str], int], changed: list | None = None) -> None:
    """Name the first balance (in lock order) that cannot give what was asked:
    the first decrement key missing from ``changed`` (the key rows a set-based
    UPDATE returned), else the first whose quantity is below it. Raising
    rolls the whole move back."""
    applied = {tuple(r) for r in changed or ()}
    short = [k for k in sorted(decrements) if k not in applied] if changed is not None else []
    if short:
        sku_id, location_id, bucket = short[0]
        qty = decrements[short[0]]
    else:
        have = {
            (b.sku_id, b.location_id, b.bucket): b.quantity
            for b in StockBalance.objects.filter(_keys_q(set(decrements)))
        }
        found = [(key, qty) for key, qty in sorted(decrements.items()) if have.get(key, 0) < qty]
        if not found:
            # Every decrement could give; a balance the increments needed was
            # not there to change (removed after it was ensured).
            raise Conflict(
                "A stock balance this move needs changed meanwhile; nothing was moved. Try again.",
                code="stock_changed",
            )
        (sku_id, location_id, bucket), qty = found[0]
    sku = SKU.objects.filter(pk=sku_id).values_list("code", flat=True).first()
    loc = Location.objects.filter(pk=location_id).values_list("code", flat=True).first()
    raise InsufficientStock(
        f"Not enough {sku} in {bucket} at {loc}: {qty} needed.",
        extra={"sku": sku, "location": loc, "bucket": bucket, "needed": qty},
    )


def stock_move(
    *,
    sku: SKU,
    location: Location,
    quantity: int,
    from_bucket: str | None = None,
    to_bucket: str | None = None,
    reason: str,
    reference: str = "",
    note: str = "",
) -> uuid.UUID:
    return stock_move_many(
        [Move(sku.pk, location.pk, quantity, from_bucket, to_bucket)],
        reason=reason,
        reference=reference,
        note=note,
    )


@transaction.atomic
def stock_adjust(
    *, sku: SKU, location: Location, bucket: str, quantity: int, reason: str
) -> uuid.UUID:
    """A signed adjustment from a WMS count or receipt: stock enters or leaves.

    Only the buckets in ``ADJUSTABLE_IN`` / ``ADJUSTABLE_OUT``: an adjustment
    never takes stock out of quarantine or liquidation (that is a
    disposition), so no pair of adjustments can move a rejected unit to sale,
    and it never touches the buckets that mirror unit states."""
    if bucket not in Bucket.values:
        raise ApplicationError(f"Unknown bucket {bucket!r}.", code="invalid_bucket")
    if quantity == 0:
        raise ApplicationError("quantity: must not be zero.", code="invalid_quantity")
    if not reason.strip():
        raise ApplicationError("reason: an adjustment needs a reason.", code="invalid_reason")
    if quantity < 0 and bucket in DISPOSITIONS:
        raise ApplicationError(
            f"bucket: stock leaves {bucket} only through a disposition "
            "(POST /api/v1/stock/dispositions/), not an adjustment.",
            code="disposition_required",
            extra={
                "field": "bucket",
                "bucket": bucket,
                "dispositions": sorted(DISPOSITIONS[bucket]),
            },
        )
    allowed = ADJUSTABLE_IN if quantity > 0 else ADJUSTABLE_OUT
    if bucket not in allowed:
        raise ApplicationError(
            f"bucket: {bucket} changes only with the units' events; an adjustment may "
            f"{'add to' if quantity > 0 else 'take from'} {', '.join(sorted(allowed))}.",
            code="bucket_not_adjustable",
            extra={"field": "bucket", "bucket": bucket, "allowed": sorted(allowed)},
        )
    if quantity > 0:
        return stock_move(
            sku=sku,
            location=location,
            quantity=quantity,
            to_bucket=bucket,
            reason="adjustment",
            note=reason,
        )
    return stock_move(
        sku=sku,
        location=location,
        quantity=-quantity,
        from_bucket=bucket,
        reason="adjustment",
        note=reason,
    )


@transaction.atomic
def stock_disposition(
    *,
    sku: SKU,
    location: Location,
    bucket: str,
    disposition: str,
    quantity: int,
    reason: str,
    actor_label: str,
) -> uuid.UUID:
    """The only way stock leaves quarantine or liquidation: dispose of it,
    return it to the vendor, liquidate it (quarantine -> liquidation) or sell
    off a liquidation lot. Never into a sellable bucket. The movement rows
    carry the disposition (``reason``), why and who (``note``). The API
    allows it only to a role with ``inventory.dispose_stock``."""
    if bucket not in DISPOSITIONS:
        raise ApplicationError(
            f"bucket: only {' and '.join(sorted(DISPOSITIONS))} stock is disposed of.",
            code="invalid_bucket",
            extra={"field": "bucket", "allowed": sorted(DISPOSITIONS)},
        )
    targets = DISPOSITIONS[bucket]
    if disposition not in targets:
        raise ApplicationError(
            f"disposition: {disposition!r} does not apply to {bucket}; one of "
            f"{', '.join(sorted(targets))}.",
            code="invalid_disposition",
            extra={"field": "disposition", "allowed": sorted(targets)},
        )
    if quantity <= 0:
        raise ApplicationError("quantity: must be positive.", code="invalid_quantity")
    if not reason.strip():
        raise ApplicationError("reason: a disposition needs a reason.", code="invalid_reason")
    return stock_move(
        sku=sku,
        location=location,
        quantity=quantity,
        from_bucket=bucket,
        to_bucket=targets[disposition],
        reason=f"disposition_{disposition}",
        note=f"{reason.strip()} (by {actor_label})"[:255],
    )


@transaction.atomic
def sku_upsert(
    *,
    code: str,
    product: str,
    name: str,
    price: Decimal,
    tax_rate: Decimal = Decimal("0"),
    attributes: dict | None = None,
    category: str = "",
    returnable: bool = True,
    warranty_months: int = 0,
    unlisted: bool = False,
) -> tuple[SKU, bool]:
    prod, _ = Product.objects.get_or_create(
        code=product, defaults={"name": product, "category": category}
    )
    if category and prod.category != category:
        prod.category = category
        prod.save(update_fields=["category"])
    try:
        with transaction.atomic():
            sku, created = SKU.objects.update_or_create(
                code=code,
                defaults={
                    "product": prod,
                    "name": name,
                    "price": price,
                    "tax_rate": tax_rate,
                    "attributes": attributes or {},
                    "category": category,
                    "returnable": returnable,
                    "warranty_months": warranty_months,
                    "unlisted": unlisted,
                },
            )
    except IntegrityError:
        sku, created = SKU.objects.get(code=code), False
    return sku, created


@transaction.atomic
def location_upsert(
    *, code: str, name: str, kind: str, is_default: bool | None = None
) -> tuple[Location, bool]:
    defaults = {"name": name, "kind": kind}
    if is_default:
        Location.objects.filter(is_default=True).exclude(code=code).update(is_default=False)
        defaults["is_default"] = True
    elif is_default is False:
        defaults["is_default"] = False
    return Location.objects.update_or_create(code=code, defaults=defaults)


def location_default() -> Location | None:
    return (
        Location.objects.filter(is_default=True).first()
        or Location.objects.filter(kind="warehouse").order_by("pk").first()
    )
