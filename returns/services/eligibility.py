"""Units that can never be returned for money again, whatever the policy says.

Both are leaks a finance user found (issue 12): a unit the storefront already
refunded itself (Shopify ``refunds/create``, a WooCommerce refund), and the
replacement of an exchange whose original failed QC and went back to the
customer (the replacement was never paid for: a recovery is open for it).
The plan refuses them (400 with the code below) and ``order_returnable`` lists
the reason; ``override_eligibility`` does not lift either.
"""

from __future__ import annotations

from orders.models import Unit
from orders.states import UnitState

REFUNDED_ON_PLATFORM = "refunded_on_platform"
REPLACEMENT_OF_FAILED_QC = "replacement_of_failed_qc"


def unit_never_returnable(unit: Unit) -> tuple[str, str] | None:
    """(code, reason) when ``unit`` can never be returned, else None. Reads
    ``unit.line.replacement_for`` (select it with the unit)."""
    if unit.platform_refunded_at is not None:
        platform, _, refund = unit.platform_refund_ref.partition(":refund:")
        return (
            REFUNDED_ON_PLATFORM,
            f"unit {unit.pk} was already refunded on {platform or 'the storefront'}"
            f"{f' (refund {refund})' if refund else ''}; it cannot be returned for another refund.",
        )
    original = unit.line.replacement_for if unit.line.replacement_for_id else None
    if original is not None and original.state == UnitState.RETURN_REJECTED:
        return (
            REPLACEMENT_OF_FAILED_QC,
            f"unit {unit.pk} was sent as the exchange for unit {original.pk}, which did not pass "
            "inspection and went back to the customer; it cannot be returned for a refund.",
        )
    return None
