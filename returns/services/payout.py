"""The customer's bank/UPI details on a return (encrypted at rest)."""

from __future__ import annotations

from ..models import Return


def return_payout_details_set(return_request: Return, details: dict) -> None:
    """Replace the return's payout details (checked by ``payout_details_clean``;
    the caller holds the return's lock and records the change)."""
    Return.objects.filter(pk=return_request.pk).update(payout_details=details)
    return_request.payout_details = details
