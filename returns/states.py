from django.db import models


class ReturnState(models.TextChoices):
    PENDING_REVIEW = (
        "pending_review",
        "Waiting for review",
    )  # risk above threshold; nothing moves until a supervisor decides
    APPROVED = "approved", "Approved"  # authorised; waiting for pickup or drop-off
    IN_TRANSIT = (
        "in_transit",
        "In transit",
    )  # every unit picked up (or riding back from a refused delivery)
    RECEIVED = "received", "Received"  # every unit received at a location; QC and money follow
    COMPLETED = "completed", "Completed"  # every unit settled: refunded, replaced, kept or rejected
    REJECTED = "rejected", "Rejected"  # a supervisor refused it in review
    CANCELLED = (
        "cancelled",
        "Cancelled",
    )  # withdrawn before pickup; units are back with the customer


OPEN_STATES = (
    ReturnState.PENDING_REVIEW,
    ReturnState.APPROVED,
    ReturnState.IN_TRANSIT,
    ReturnState.RECEIVED,
)


class PickupStatus(models.TextChoices):
    """Where the courier booking of a return's reverse pickup stands. Blank:
    no courier books it (the manual path: people or scripts post the events)."""

    BOOKING = "booking", "Booking the pickup"  # queued with the courier
    BOOKED = "booked", "Pickup booked"  # AWB assigned, pickup scheduled
    NOT_BOOKED = (
        "not_booked",
        "Pickup not booked",
    )  # the courier failed; retried, in the console queue
    UNSERVICEABLE = (
        "unserviceable",
        "No pickup at this pincode",
    )  # self-ship or store drop with a printable label


class ReturnType(models.TextChoices):
    PARTIAL_RETURN = "partial_return", "Partial return"
    EXCHANGE = "exchange", "Exchange"
    DOORSTEP_REFUSAL = "doorstep_refusal", "Doorstep refusal"
    QUALITY_REJECTION = "quality_rejection", "Quality rejection"


class Resolution(models.TextChoices):
    REFUND = "refund", "Refund"
    EXCHANGE = "exchange", "Exchange for another variant"
    REPLACEMENT = "replacement", "Replacement (same SKU)"
    KEEP = "keep", "Keep it (refund without return)"
    PARTIAL_CREDIT = "partial_credit", "Partial credit (keeps the item)"
    REPAIR = "repair", "Repair and send back"


# Resolutions for which the unit stays with the customer: no pickup.
NO_PICKUP = (Resolution.KEEP, Resolution.PARTIAL_CREDIT)


class RefundMethod(models.TextChoices):
    ORIGINAL = "original", "Original payment method"
    STORE_CREDIT = "store_credit", "Store credit"
    BANK_TRANSFER = "bank_transfer", "Bank transfer / UPI"


class Disposition(models.TextChoices):
    RESTOCK = "restock", "Restock (sellable)"
    REFURBISH = "refurbish", "Refurbish"
    QUARANTINE = "quarantine", "Quarantine (quality reject)"
    LIQUIDATE = "liquidate", "Liquidate"
    DISPOSE = "dispose", "Dispose"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"
    RETURN_TO_CUSTOMER = "return_to_customer", "Send back to the customer"
    REPAIR = "repair", "Repair for the customer"


def __getattr__(name: str):
    # Deprecated alias: the input event names now live on
    # ``returns.events.ReturnEventType`` (``.kind``, ``INPUT_EVENTS``).
    if name == "EventKind":
        from .events import EventKind

        return EventKind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
