from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.config_cache import ConfigModel
from oms.crypto import EncryptedJSONField
from oms.fsm import ConcurrentTransitionMixin

from .states import Disposition, PickupStatus, RefundMethod, Resolution, ReturnState, ReturnType

MONEY = {"max_digits": 14, "decimal_places": 2}


def default_refund_methods() -> dict:
    return {
        "card": ["original", "store_credit"],
        "upi": ["original", "store_credit"],
        "wallet": ["original", "store_credit"],
        "gift_card": ["original", "store_credit"],
        "store_credit": ["store_credit"],
        "cod": ["store_credit", "bank_transfer"],
    }


def default_tender_order() -> list:
    return ["card", "upi", "wallet", "cod", "gift_card", "store_credit"]


def default_sla_hours() -> dict:
    return {"pickup": 48, "qc": 48, "exchange_dispatch": 48, "refund": 24}


class ReturnReason(ConfigModel):
    """A structured reason code. Ops add more in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    merchant_fault = models.BooleanField(default=False, help_text="No fees; shipping refunded.")
    defect = models.BooleanField(
        default=False, help_text="A quality claim: routed as quality_rejection."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class ReturnPolicy(ConfigModel):
    """A version of the return policy. Rows are never edited: saving a change
    in the admin writes a new version, and each return keeps the version it was
    decided under."""

    version = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=100, default="Standard")
    window_days = models.PositiveSmallIntegerField(default=30)
    exchange_window_days = models.PositiveSmallIntegerField(default=30)
    non_returnable_skus = models.JSONField(default=list, blank=True)
    non_returnable_categories = models.JSONField(default=list, blank=True)
    restocking_fee = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Per refunded unit."
    )
    return_shipping_fee = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Per return with a pickup."
    )
    refund_methods = models.JSONField(
        default=default_refund_methods, help_text="Payment method → allowed refund methods."
    )
    tender_order = models.JSONField(
        default=default_tender_order, help_text="Order in which split tenders are refunded."
    )
    keep_it_max_value = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Keep-it allowed for units up to this net paid."
    )
    instant_refund_max = models.DecimalField(
        **MONEY,
        default=Decimal("0"),
        help_text="Refund at pickup for low-risk returns up to this total.",
    )
    qc_auto_pass_max = models.DecimalField(
        **MONEY,
        default=Decimal("1000"),
        help_text="When QC is overdue, low-risk returns up to this value pass automatically.",
    )
    exchange_dispatch_before_receipt = models.BooleanField(
        default=True, help_text="Exchange-first: ship the replacement before the return arrives."
    )
    partial_credit_percent = models.PositiveSmallIntegerField(
        default=30,
        help_text="Partial credit: this share of the unit's net paid; it keeps the item.",
    )
    defect_auto_outcome = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="Outcome for an in-warranty defect with no known pattern; blank: a person reviews.",
    )
    risk_threshold = models.PositiveSmallIntegerField(default=50)
    high_value_order = models.DecimalField(**MONEY, default=Decimal("20000"))
    high_value_item = models.DecimalField(**MONEY, default=Decimal("10000"))
    review_value_limit = models.DecimalField(
        **MONEY,
        default=Decimal("25000"),
        help_text="A return whose units' net paid adds up to more waits for review, whatever its score.",
    )
    # Risk weights: what each reason adds to the score (0 to 100).
    risk_weight_repeat_returner = models.PositiveSmallIntegerField(
        default=35, help_text="Risk added for two or more returns in the last 90 days."
    )
    risk_weight_high_order_value = models.PositiveSmallIntegerField(
        default=20, help_text="Risk added when the order is worth at least the high order value."
    )
    risk_weight_high_item_value = models.PositiveSmallIntegerField(
        default=25, help_text="Risk added when a unit is worth at least the high item value."
    )
    risk_weight_serial_mismatch = models.PositiveSmallIntegerField(
        default=50, help_text="Risk added when a serial number is not the one shipped."
    )
    risk_weight_contact_changed = models.PositiveSmallIntegerField(
        default=25, help_text="Risk added when contact details changed in the last 14 days."
    )
    max_pickup_attempts = models.PositiveSmallIntegerField(default=3)
    self_ship_allowed = models.BooleanField(
        default=True,
        help_text="Where the courier cannot collect, the customer may post the parcel with a printed label.",
    )
    store_drop_allowed = models.BooleanField(
        default=True,
        help_text="Where the courier cannot collect, the customer may drop the parcel at a store.",
    )
    sla_hours = models.JSONField(default=default_sla_hours)
    store_credit_validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Store credit granted under this version expires after this many days; "
        "empty: it never expires.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "return policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(restocking_fee__gte=0), name="policy_restocking_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(return_shipping_fee__gte=0), name="policy_shipping_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(review_value_limit__gte=0),
                name="policy_review_value_limit_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(risk_weight_repeat_returner__lte=100)
                & Q(risk_weight_high_order_value__lte=100)
                & Q(risk_weight_high_item_value__lte=100)
                & Q(risk_weight_serial_mismatch__lte=100)
                & Q(risk_weight_contact_changed__lte=100),
                name="policy_risk_weights_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("A policy version is never edited; save a new version.")
        super().save(*args, **kwargs)

    def allowed_refund_methods(self, payment_methods: list[str]) -> list[str]:
        allowed: set[str] | None = None
        for method in payment_methods:
            if method == "loyalty_points":  # points always go back as points
                continue
            options = set(self.refund_methods.get(method, ["store_credit"]))
            if method in options:
                # A tender that may be refunded as itself (store credit back
                # to store credit) is refunded to its original: with split
                # tenders, "original" sends each back to itself.
                options.add("original")
            allowed = options if allowed is None else allowed & options
        return [m for m in RefundMethod.values if m in (allowed or {"store_credit"})]


class Return(ConcurrentTransitionMixin, models.Model):
    rma = models.CharField(max_length=20, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    type = models.CharField(max_length=30, choices=ReturnType.choices)
    is_full_return = models.BooleanField(default=False)
    state = FSMField(
        default=ReturnState.APPROVED, choices=ReturnState.choices, protected=True, db_index=True
    )
    policy = models.ForeignKey(ReturnPolicy, on_delete=models.PROTECT, related_name="returns")
    refund_method = models.CharField(
        max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL
    )
    payout_details = EncryptedJSONField(
        default=dict, blank=True, help_text="Bank/UPI details for a payout, encrypted at rest."
    )
    location = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Where the units are expected back.",
    )
    risk_score = models.PositiveSmallIntegerField(default=0)
    risk_reasons = models.JSONField(default=list, blank=True)
    estimate = models.JSONField(
        default=dict, blank=True, help_text="Refund breakdown quoted at creation."
    )
    pickup_attempts = models.PositiveSmallIntegerField(default=0)
    # The courier's reverse pickup (couriers app); blank on the manual path.
    courier = models.CharField(
        max_length=20, blank=True, default="", help_text="Courier booking the pickup, if any."
    )
    pickup_status = models.CharField(
        max_length=20, choices=PickupStatus.choices, blank=True, default="", db_index=True
    )
    awb = models.CharField(max_length=40, blank=True, default="", db_index=True)
    courier_name = models.CharField(max_length=100, blank=True, default="")
    pickup_scheduled_at = models.DateTimeField(null=True, blank=True)
    pickup_booked_at = models.DateTimeField(null=True, blank=True)
    pickup_error = models.CharField(max_length=500, blank=True, default="")
    root_cause = models.CharField(max_length=60, blank=True, default="")
    channel = models.CharField(
        max_length=20,
        default="api",
        help_text="Where it was created: api, portal, console, courier.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.CharField(max_length=500, blank=True, default="")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_returns",
        help_text="The agent who owns this case in the console queue.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("record_return_event", "Can post pickup, dispatch and cancellation events"),
            (
                "inspect_return",
                "Can record receipt, QC results, inspections and repairs (warehouse)",
            ),
            ("review_return", "Can approve or reject a return held for review"),
            ("override_eligibility", "Can create a return outside the policy's eligibility"),
        ]

    def __str__(self) -> str:
        return self.rma

    @transition(field=state, source=ReturnState.PENDING_REVIEW, target=ReturnState.APPROVED)
    def approve(self, user, note, at):
        self.reviewed_by, self.review_note, self.approved_at = user, note, at

    @transition(field=state, source=ReturnState.PENDING_REVIEW, target=ReturnState.REJECTED)
    def reject(self, user, note, at):
        self.reviewed_by, self.review_note, self.closed_at = user, note, at

    @transition(field=state, source=ReturnState.APPROVED, target=ReturnState.IN_TRANSIT)
    def mark_in_transit(self):
        pass

    @transition(
        field=state,
        source=[ReturnState.APPROVED, ReturnState.IN_TRANSIT],
        target=ReturnState.RECEIVED,
    )
    def mark_received(self):
        pass

    @transition(
        field=state,
        source=[ReturnState.APPROVED, ReturnState.IN_TRANSIT, ReturnState.RECEIVED],
        target=ReturnState.COMPLETED,
    )
    def complete(self, at):
        self.closed_at = at

    @transition(
        field=state,
        source=[ReturnState.PENDING_REVIEW, ReturnState.APPROVED],
        target=ReturnState.CANCELLED,
    )
    def cancel(self, at):
        self.closed_at = at


class ReturnItem(models.Model):
    """One unit in a return, with its reason, resolution and outcome."""

    return_request = models.ForeignKey(Return, on_delete=models.PROTECT, related_name="items")
    unit = models.ForeignKey("orders.Unit", on_delete=models.PROTECT, related_name="return_items")
    reason = models.ForeignKey(ReturnReason, on_delete=models.PROTECT)
    resolution = models.CharField(max_length=20, choices=Resolution.choices)
    exchange_sku = models.ForeignKey(
        "inventory.SKU", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reserved_at = models.ForeignKey(
        "inventory.Location",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Where the replacement is reserved (exchange-first).",
    )
    price_difference = models.DecimalField(
        **MONEY,
        default=Decimal("0"),
        help_text="Replacement price − original price; > 0 to collect, < 0 to refund.",
    )
    difference_collected = models.BooleanField(default=False)
    fees_waived = models.BooleanField(
        default=False, help_text="No fees: the merchant could not deliver the exchange."
    )
    replacement_unit = models.ForeignKey(
        "orders.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    alternate_sku = models.ForeignKey(
        "inventory.SKU",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A variant the customer accepts if the exchange cannot ship in time.",
    )
    customer_serial = models.CharField(max_length=100, blank=True, default="")
    defect_code = models.CharField(
        max_length=40, blank=True, default="", help_text="quality.DefectType code (defect reasons)."
    )
    customer_note = models.CharField(max_length=500, blank=True, default="")
    qc_passed = models.BooleanField(null=True, blank=True)
    grade = models.CharField(max_length=20, blank=True, default="")
    disposition = models.CharField(
        max_length=30, choices=Disposition.choices, blank=True, default=""
    )
    qc_notes = models.CharField(max_length=500, blank=True, default="")
    is_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["return_request_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"], condition=Q(is_open=True), name="unit_in_one_open_return"
            ),
            models.UniqueConstraint(
                fields=["return_request", "unit"], name="return_item_unique_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.return_request_id}: unit {self.unit_id} ({self.resolution})"

    @property
    def dispatched(self) -> bool:
        return self.replacement_unit_id is not None
