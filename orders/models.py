from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from .states import (
    Actor,
    PaymentMethod,
    PaymentState,
    ShipmentKind,
    ShipmentState,
    UnitState,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Customer(models.Model):
    email = models.EmailField(blank=True, default="", db_index=True)
    phone = models.CharField(max_length=32, blank=True, default="", db_index=True)
    name = models.CharField(max_length=200, blank=True, default="")
    contact_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"Customer {self.pk}"


class Channel(models.Model):
    class Platform(models.TextChoices):
        NATIVE = "native", "Native API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    class UnknownSku(models.TextChoices):
        CREATE = "create", "Create an unlisted SKU"
        REJECT = "reject", "Reject the order"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    platform = models.CharField(max_length=20, choices=Platform.choices, default=Platform.NATIVE)
    webhook_secret = models.CharField(max_length=255, blank=True, default="")
    unknown_sku = models.CharField(
        max_length=10, choices=UnknownSku.choices, default=UnknownSku.REJECT
    )
    # Outbound webhooks to the storefront (orders.webhooks). The secret signs
    # what we send; it is not the inbound ``webhook_secret`` the storefront
    # signs with, so either side can rotate its own.
    outbound_url = models.URLField(
        blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where the storefront receives our webhooks; empty sends none.",
    )
    outbound_secret = models.CharField(
        max_length=255, blank=True, default="", help_text="Signs outbound webhooks."
    )
    outbound_events = models.JSONField(
        default=list, blank=True, help_text="Event types to send; empty sends every type."
    )
    courier = models.CharField(
        max_length=20,
        blank=True,
        default="",
        help_text="manual, shiprocket, or blank: Shiprocket when configured, else manual.",
    )

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    """What a customer bought through one channel. It has no hand-set status:
    ``summary`` is derived from the units, payments and shipments."""

    number = models.CharField(max_length=20, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    currency = models.CharField(max_length=3)
    placed_at = models.DateTimeField()
    prices_include_tax = models.BooleanField(default=True)
    items_total = models.DecimalField(**MONEY, help_text="Sum of the units' net paid.")
    line_discount_total = models.DecimalField(**MONEY, default=Decimal("0"))
    order_discount = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"))
    shipping_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    grand_total = models.DecimalField(**MONEY)
    ship_from = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    raw = models.JSONField(default=dict, blank=True, help_text="The payload as received.")
    # Loyalty points (orders.loyalty): what the storefront says the customer
    # earned and redeemed on this order, and the rate of the redeemed tender.
    loyalty_earned = models.PositiveIntegerField(default=0)
    loyalty_redeemed = models.PositiveIntegerField(default=0)
    loyalty_rate = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Points per unit of currency; null when the order carries no loyalty.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        permissions = [("view_all_orders", "Can search every order")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(items_total__gte=0), name="order_items_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0), name="order_shipping_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(grand_total=Round(F("items_total") + F("shipping_amount"), 2)),
                name="order_grand_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(loyalty_rate__isnull=True, loyalty_earned=0, loyalty_redeemed=0)
                | Q(loyalty_rate__gt=0),
                name="order_loyalty_has_positive_rate",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def has_loyalty(self) -> bool:
        return self.loyalty_rate is not None


class Line(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="lines")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(
        **MONEY, default=Decimal("0"), help_text="Discount on the whole line."
    )
    external_id = models.CharField(max_length=100, blank=True, default="")
    replacement_for = models.ForeignKey(
        "Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replacement_lines",
        help_text="Set on lines added by an exchange or replacement: the unit it replaces.",
    )

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="line_price_not_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="line_discount_not_negative"),
            models.CheckConstraint(
                condition=Q(discount__lte=Round(F("unit_price") * F("quantity"), 2)),
                name="line_discount_within_value",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.position} {self.sku_id} x{self.quantity}"


class Unit(ConcurrentTransitionMixin, models.Model):
    """One physical piece of a line, with its own lifecycle. Only services call
    the transitions below, and each call writes a timeline row."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="units")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="units")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    index = models.PositiveIntegerField(help_text="1..quantity within the line")
    state = FSMField(
        default=UnitState.ORDERED, choices=UnitState.choices, protected=True, db_index=True
    )
    net_paid = models.DecimalField(**MONEY, help_text="Fixed at intake by the allocation rule.")
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    shipment = models.ForeignKey(
        "Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="units"
    )
    serial = models.CharField(max_length=100, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Refunded by the storefront itself (a Shopify or WooCommerce refund that
    # intake reconciled): the money is back with the customer, so the unit can
    # never be returned for a refund here. Its lifecycle state is left alone:
    # the platform says where the money went, not where the goods are.
    platform_refunded_at = models.DateTimeField(null=True, blank=True)
    platform_refund_ref = models.CharField(
        max_length=150, blank=True, default="", help_text="platform:refund id"
    )
    # The unit's share of the order's loyalty points, fixed at intake
    # (orders.loyalty): what returning it reverses and gives back.
    loyalty_earned = models.PositiveIntegerField(default=0)
    loyalty_redeemed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["line_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["line", "index"], name="unit_unique_index"),
            models.CheckConstraint(condition=Q(net_paid__gte=0), name="unit_net_paid_not_negative"),
        ]

    def __str__(self) -> str:
        return f"unit {self.pk} ({self.sku_id}, {self.state})"

    # forward
    @transition(field=state, source=UnitState.ORDERED, target=UnitState.ALLOCATED)
    def allocate(self, location):
        self.location = location

    @transition(field=state, source=UnitState.ALLOCATED, target=UnitState.SHIPPED)
    def ship(self, shipment):
        self.shipment = shipment

    @transition(field=state, source=UnitState.SHIPPED, target=UnitState.DELIVERED)
    def deliver(self, at):
        self.delivered_at = at

    @transition(field=state, source=UnitState.SHIPPED, target=UnitState.REFUSED)
    def refuse(self):
        pass

    @transition(
        field=state, source=[UnitState.ORDERED, UnitState.ALLOCATED], target=UnitState.CANCELLED
    )
    def cancel(self):
        pass

    # reverse
    @transition(field=state, source=UnitState.DELIVERED, target=UnitState.RETURN_REQUESTED)
    def request_return(self):
        pass

    @transition(field=state, source=UnitState.REFUSED, target=UnitState.RETURN_IN_TRANSIT)
    def ride_back(self):
        """A unit refused at the door rides back with the courier."""

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.RETURN_IN_TRANSIT)
    def pick_up(self):
        pass

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.DELIVERED)
    def cancel_return(self):
        pass

    @transition(
        field=state,
        source=[UnitState.RETURN_IN_TRANSIT, UnitState.RETURN_REQUESTED],
        target=UnitState.RETURNED,
    )
    def receive(self, location):
        self.location = location

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.PENDING_REFUND)
    def pass_qc_for_refund(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.PENDING_EXCHANGE)
    def pass_qc_for_exchange(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.RETURN_REJECTED)
    def fail_qc(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.NOT_CHARGED)
    def pass_qc_uncharged(self):
        """A cash-on-delivery unit refused at the door passed QC: never paid, nothing to refund."""

    @transition(field=state, source=UnitState.PENDING_EXCHANGE, target=UnitState.PENDING_REFUND)
    def convert_exchange_to_refund(self):
        """The exchange could not be shipped: the accepted unit is refunded instead."""

    @transition(field=state, source=UnitState.PENDING_REFUND, target=UnitState.REFUNDED)
    def mark_refunded(self):
        pass

    @transition(field=state, source=UnitState.PENDING_EXCHANGE, target=UnitState.REPLACED)
    def mark_replaced(self):
        pass

    @transition(field=state, source=UnitState.RETURNED, target=UnitState.IN_REPAIR)
    def pass_qc_for_repair(self):
        pass

    @transition(field=state, source=UnitState.IN_REPAIR, target=UnitState.REPAIRED)
    def send_back_repaired(self):
        pass

    @transition(field=state, source=UnitState.RETURN_REQUESTED, target=UnitState.KEPT)
    def keep(self):
        pass

    @transition(
        field=state, source=UnitState.RETURN_REJECTED, target=UnitState.RETURNED_TO_CUSTOMER
    )
    def deliver_back(self):
        """A unit that failed QC reached the customer again: nothing more happens to it."""


class Payment(ConcurrentTransitionMixin, models.Model):
    """One tender. Refunds are capped by captured − refunded, per tender."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    position = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = models.DecimalField(**MONEY, help_text="Amount tendered at checkout.")
    captured_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    state = FSMField(default=PaymentState.CAPTURED, choices=PaymentState.choices, protected=True)
    gateway = models.CharField(max_length=50, blank=True, default="")
    reference = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["order_id", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0), name="payment_captured_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0), name="payment_refunded_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=F("amount")), name="payment_captured_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("captured_amount")),
                name="payment_refunded_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"

    @property
    def refundable(self) -> Decimal:
        return self.captured_amount - self.refunded_amount

    @transition(field=state, source=PaymentState.AUTHORISED, target=PaymentState.CAPTURED)
    def capture(self, amount):
        self.captured_amount = amount

    @transition(
        field=state,
        source=[
            PaymentState.PENDING,
            PaymentState.CAPTURED,
            # An order delivered in several shipments: cash collected at an
            # earlier door may already be partly or wholly given back (a
            # return refunded as store credit) when the next door collects.
            PaymentState.PARTIALLY_REFUNDED,
            PaymentState.REFUNDED,
        ],
        target=RETURN_VALUE(PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED),
    )
    def collect(self, amount):
        """Cash collected at the door, for the units the customer accepted."""
        self.captured_amount += amount
        if self.refunded_amount > 0:
            return PaymentState.PARTIALLY_REFUNDED
        return PaymentState.CAPTURED

    @transition(
        field=state,
        source=[PaymentState.PENDING, PaymentState.AUTHORISED],
        target=PaymentState.VOIDED,
    )
    def void(self):
        pass

    @transition(
        field=state,
        source=[PaymentState.CAPTURED, PaymentState.PARTIALLY_REFUNDED],
        target=RETURN_VALUE(PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED),
    )
    def record_refund(self, amount):
        self.refunded_amount += amount
        if self.refunded_amount >= self.captured_amount:
            return PaymentState.REFUNDED
        return PaymentState.PARTIALLY_REFUNDED


class Shipment(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    kind = models.CharField(
        max_length=20, choices=ShipmentKind.choices, default=ShipmentKind.FORWARD
    )
    state = FSMField(default=ShipmentState.SHIPPED, choices=ShipmentState.choices, protected=True)
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT
    )
    tracking_number = models.CharField(max_length=100, blank=True, default="")
    cod_collected = models.DecimalField(**MONEY, null=True, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order_id", "pk"]

    def __str__(self) -> str:
        return f"shipment {self.pk} ({self.state})"

    @transition(
        field=state,
        source=ShipmentState.SHIPPED,
        target=RETURN_VALUE(ShipmentState.DELIVERED, ShipmentState.REFUSED),
    )
    def deliver(self, at, any_accepted: bool):
        self.delivered_at = at
        return ShipmentState.DELIVERED if any_accepted else ShipmentState.REFUSED


class TimelineEvent(models.Model):
    """The one append-only timeline: order, unit, payment, shipment, return,
    refund, SLA and message events. Written only by ``orders.events``."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    entity = models.CharField(max_length=20)
    entity_id = models.CharField(max_length=40, blank=True, default="")
    type = models.CharField(max_length=60)
    from_state = models.CharField(max_length=40, blank=True, default="")
    to_state = models.CharField(max_length=40, blank=True, default="")
    actor_kind = models.CharField(max_length=20, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    source = models.CharField(max_length=60, blank=True, default="")
    external_id = models.CharField(max_length=150, blank=True, default="")
    message = models.CharField(max_length=500, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["order", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.entity}:{self.entity_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Timeline events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Timeline events are append-only.")


class ProcessedEvent(models.Model):
    """Inbound events already applied, so a redelivery changes nothing."""

    source = models.CharField(max_length=60)
    external_id = models.CharField(max_length=150)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="processed_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class ContactLog(models.Model):
    """A customer contact about an order, for repeat-contact measures."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="contacts")
    channel = models.CharField(max_length=20, default="phone")
    summary = models.CharField(max_length=500)
    resolved = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order_id}: {self.summary[:40]}"


class LedgerEntry(models.Model):
    """Append-only money ledger of an order. ``amount`` is always positive;
    ``kind`` says which way it moved. Reconciles as
    captured − refunded − credit issued − paid out = retained."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Captured at checkout"
        COD_COLLECTION = "cod_collection", "Cash collected at delivery"
        EXCHANGE_COLLECTION = "exchange_collection", "Price difference collected"
        REFUND = "refund", "Refunded to the original tender"
        STORE_CREDIT = "store_credit", "Store credit issued"
        PAYOUT = "payout", "Bank/UPI payout"
        # A recovery (refunds.Recovery): what the customer owes once a unit
        # failed QC after its refund or replacement left. Opened is a
        # receivable, not cash; collected is cash in; written off closes it.
        RECOVERY_OPENED = "recovery_opened", "Owed by the customer (recovery)"
        RECOVERY_COLLECTED = "recovery_collected", "Recovery collected"
        RECOVERY_WRITTEN_OFF = "recovery_written_off", "Recovery written off"

    INFLOWS = (
        Kind.CAPTURE,
        Kind.COD_COLLECTION,
        Kind.EXCHANGE_COLLECTION,
        Kind.RECOVERY_COLLECTED,
    )

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "pk"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only.")


class OutboundMessage(models.Model):
    """Transactional outbox: a customer message (or storefront webhook) written
    in the same transaction as the change that caused it, delivered after
    commit by Celery, so none is lost and none is sent for a rolled-back change."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="messages")
    channel = models.CharField(max_length=20, default="email")
    to = models.CharField(max_length=255)
    template = models.CharField(max_length=60)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    headers = models.JSONField(
        default=dict, blank=True, help_text="Webhooks: fixed headers (event type, delivery id)."
    )
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Webhooks: not retried before this time."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.template} to {self.to} ({self.state})"
