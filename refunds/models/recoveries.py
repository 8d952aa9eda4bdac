from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.fsm import ConcurrentTransitionMixin

from ..states import (
    RecoveryMethod,
    RecoveryReason,
    RecoveryState,
)
from .fields import MONEY
from .refunds import Refund


class Recovery(ConcurrentTransitionMixin, models.Model):
    """Money the customer owes back: a unit failed QC after its refund was
    paid (instant refund) or after its replacement shipped (exchange-first),
    so the unit goes back to the customer while the money or the replacement
    stays with them. Opened in the QC transaction, on the order's ledger, in
    finance's and CX's queue until collected or written off."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="recoveries")
    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="recoveries"
    )
    unit = models.OneToOneField(
        "orders.Unit",
        on_delete=models.PROTECT,
        related_name="recovery",
        help_text="The unit that failed QC; one recovery per unit.",
    )
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="recoveries"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="recoveries"
    )
    replacement_unit = models.ForeignKey(
        "orders.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=40, choices=RecoveryReason.choices)
    state = FSMField(
        default=RecoveryState.OPEN, choices=RecoveryState.choices, protected=True, db_index=True
    )
    method = models.CharField(
        max_length=20, choices=RecoveryMethod.choices, blank=True, default=RecoveryMethod.NONE
    )
    reference = models.CharField(
        max_length=150, blank=True, default="", help_text="Charge id, payment reference or order."
    )
    payment_link = models.CharField(max_length=500, blank=True, default="")
    gateway_link = models.CharField(
        max_length=120,
        blank=True,
        default="",
        help_text="The gateway's payment link (gateway:plink_…) when a gateway made it: its "
        "paid webhook collects the recovery.",
    )
    applied_order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applied_recoveries",
        help_text="The customer's next order it was applied to.",
    )
    note = models.CharField(max_length=500, blank=True, default="", help_text="Write-off reason.")
    settled_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    written_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        permissions = [("write_off_recovery", "Can write off an amount a customer owes")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
            models.UniqueConstraint(
                fields=["gateway_link"],
                condition=~Q(gateway_link=""),
                name="recovery_gateway_link_unique",
            ),
            models.CheckConstraint(
                condition=Q(state__in=RecoveryState.values), name="recovery_state_known"
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.OPEN)
                | Q(collected_at__isnull=True, written_off_at__isnull=True),
                name="recovery_open_unsettled",
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.COLLECTED)
                | (Q(collected_at__isnull=False) & ~Q(reference="")),
                name="recovery_collected_has_reference",
            ),
            models.CheckConstraint(
                condition=~Q(state=RecoveryState.WRITTEN_OFF)
                | (Q(written_off_at__isnull=False) & ~Q(note="")),
                name="recovery_written_off_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"recovery {self.pk} {self.amount} {self.currency} ({self.state})"

    @transition(field=state, source=RecoveryState.OPEN, target=RecoveryState.COLLECTED)
    def collect(self, *, how, reference, at, by=""):
        self.method, self.reference, self.collected_at = how, reference[:150], at
        self.settled_by = by[:150]

    @transition(field=state, source=RecoveryState.OPEN, target=RecoveryState.WRITTEN_OFF)
    def write_off(self, *, reason, at, by=""):
        self.method, self.note, self.written_off_at = RecoveryMethod.WRITE_OFF, reason[:500], at
        self.settled_by = by[:150]
