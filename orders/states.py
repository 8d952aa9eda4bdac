import re

from django.db import models


class UnitState(models.TextChoices):
    # forward
    ORDERED = "ordered", "Ordered"  # bought; no stock reserved yet (backorder)
    ALLOCATED = "allocated", "Allocated"  # stock reserved at a location
    SHIPPED = "shipped", "Shipped"  # handed to the courier
    DELIVERED = "delivered", "Delivered"  # accepted by the customer
    CANCELLED = "cancelled", "Cancelled"  # cancelled before shipping
    REFUSED = "refused", "Refused at the door"  # customer refused it at delivery
    # reverse
    RETURN_REQUESTED = (
        "return_requested",
        "Return requested",
    )  # in an open return, not yet picked up
    RETURN_IN_TRANSIT = (
        "return_in_transit",
        "Return in transit",
    )  # picked up / riding back with the courier
    RETURNED = "returned", "Returned, awaiting QC"  # received at a location, pending inspection
    PENDING_REFUND = (
        "pending_refund",
        "Passed QC, refund due",
    )  # inspected and accepted; refund not yet issued
    PENDING_EXCHANGE = (
        "pending_exchange",
        "Passed QC, exchange due",
    )  # accepted; replacement not yet dispatched
    REFUNDED = "refunded", "Refunded"  # money back issued
    REPLACED = "replaced", "Replaced"  # exchange or replacement dispatched for it
    RETURN_REJECTED = "return_rejected", "Return rejected"  # failed QC; goes back to the customer
    KEPT = "kept", "Kept by customer"  # keep-it resolution: refunded without taking it back
    NOT_CHARGED = (
        "not_charged",
        "Refused, not charged",
    )  # cash-on-delivery unit refused and back: nothing to refund
    IN_REPAIR = "in_repair", "In repair"  # passed QC for a warranty repair; on the bench
    REPAIRED = "repaired", "Repaired, sent back"  # repaired and shipped back to the customer
    RETURNED_TO_CUSTOMER = (
        "returned_to_customer",
        "Failed QC, delivered back",
    )  # a rejected unit's shipment back reached the customer


# States in which a unit is part of an open return.
OPEN_RETURN_STATES = {
    UnitState.RETURN_REQUESTED,
    UnitState.RETURN_IN_TRANSIT,
    UnitState.RETURNED,
    UnitState.PENDING_REFUND,
    UnitState.PENDING_EXCHANGE,
    UnitState.IN_REPAIR,
}
# States after which nothing more happens to the unit in this order.
FINAL_REVERSE_STATES = {
    UnitState.REFUNDED,
    UnitState.REPLACED,
    UnitState.KEPT,
    UnitState.NOT_CHARGED,
    UnitState.REPAIRED,
    UnitState.RETURNED_TO_CUSTOMER,
}


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    UPI = "upi", "UPI"
    WALLET = "wallet", "Wallet"
    GIFT_CARD = "gift_card", "Gift card"
    STORE_CREDIT = "store_credit", "Store credit"
    COD = "cod", "Cash on delivery"
    LOYALTY_POINTS = "loyalty_points", "Loyalty points"


class PaymentGateway(models.TextChoices):
    """Where a tender's money goes back. ``Payment.gateway`` may also hold a
    channel's own name for its gateway (``bacs``, ``shopify_payments``): those
    refund offline, as before."""

    OFFLINE = "offline", "Offline"  # refunded by hand, store credit or payout
    RAZORPAY = "razorpay", "Razorpay"  # reference: the payment id, pay_…
    STRIPE = "stripe", "Stripe"  # reference: the PaymentIntent id, pi_… (or a charge, ch_…)


# The provider's payment id, as its API names it.
GATEWAY_REFERENCE = {
    PaymentGateway.RAZORPAY: re.compile(r"^pay_[A-Za-z0-9]{6,40}$"),
    PaymentGateway.STRIPE: re.compile(r"^(pi|ch)_[A-Za-z0-9]{6,90}$"),
}
GATEWAY_REFERENCE_HINT = {
    PaymentGateway.RAZORPAY: "a Razorpay payment id (pay_ followed by letters and digits)",
    PaymentGateway.STRIPE: "a Stripe PaymentIntent id (pi_…) or charge id (ch_…)",
}


def gateway_reference_valid(gateway: str, reference: str) -> bool:
    pattern = GATEWAY_REFERENCE.get(gateway)  # type: ignore[call-overload]
    return pattern is None or bool(pattern.match(reference or ""))


class PaymentState(models.TextChoices):
    PENDING = "pending", "Awaiting collection"  # cash on delivery, not yet collected
    AUTHORISED = "authorised", "Authorised"  # held on the card, not captured
    CAPTURED = "captured", "Captured"  # money taken (or cash collected)
    PARTIALLY_REFUNDED = (
        "partially_refunded",
        "Partially refunded",
    )  # some of the capture given back
    REFUNDED = "refunded", "Refunded"  # all of the capture given back
    VOIDED = "voided", "Voided"  # released without capture (or COD never collected)


class ShipmentState(models.TextChoices):
    SHIPPED = "shipped", "In transit"  # with the courier
    DELIVERED = "delivered", "Delivered"  # delivered; some units may have been refused
    REFUSED = "refused", "Refused"  # every unit refused at the door


class ShipmentKind(models.TextChoices):
    FORWARD = "forward", "Forward"
    REPLACEMENT = "replacement", "Replacement (exchange)"
    RETURN_TO_CUSTOMER = "return_to_customer", "Failed QC, back to the customer"


class Actor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System"
    COURIER = "courier", "Courier"
    API = "api", "API client"
