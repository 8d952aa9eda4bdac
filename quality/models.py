"""Quality tables: defect types and known patterns (ops), evidence per unit,
the automatic assessment of a defect claim, QC inspections and repair orders.

quality depends on returns and orders; they never import it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from inventory.models import SKU
from oms.fsm import ConcurrentTransitionMixin
from returns.states import Disposition

from .states import Outcome, RepairState, Warranty


class DefectType(models.Model):
    """A structured defect type (hardware failure, cosmetic damage, ...)."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=100)
    default_for_reason = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="Used when a return line with this reason code gives no defect type.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.label


class DefectPattern(models.Model):
    """A known defect: SKU, serial range or batch, defect type → outcome.
    Empty criteria match anything; the most specific active match wins."""

    sku = models.ForeignKey(
        "inventory.SKU", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    serial_from = models.CharField(max_length=100, blank=True, default="")
    serial_to = models.CharField(max_length=100, blank=True, default="")
    batch = models.CharField(
        max_length=100, blank=True, default="", help_text="Matches serials starting with this."
    )
    defect_type = models.ForeignKey(
        DefectType, null=True, blank=True, on_delete=models.PROTECT, related_name="patterns"
    )
    outcome = models.CharField(
        max_length=20, choices=[c for c in Outcome.choices if c[0] != Outcome.REVIEW]
    )
    note = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=60, blank=True, default="admin")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(serial_from="") & ~Q(serial_to=""))
                & ~(~Q(serial_from="") & Q(serial_to="")),
                name="pattern_serial_range_both_ends",
            ),
        ]

    def __str__(self) -> str:
        parts = [self.sku.code if self.sku_id else "any SKU"]
        if self.serial_from:
            parts.append(f"serials {self.serial_from}–{self.serial_to}")
        if self.batch:
            parts.append(f"batch {self.batch}")
        if self.defect_type_id:
            parts.append(self.defect_type.code)
        return f"{', '.join(parts)} → {self.outcome}"

    def matches(self, *, sku_id: int, serial: str, defect_code: str) -> bool:
        if self.sku_id and self.sku_id != sku_id:
            return False
        if self.defect_type_id and self.defect_type.code != defect_code:
            return False
        if self.serial_from and not (serial and self.serial_from <= serial <= self.serial_to):
            return False
        return not (self.batch and not serial.startswith(self.batch))

    @property
    def specificity(self) -> int:
        return sum(
            [bool(self.sku_id), bool(self.serial_from or self.batch), bool(self.defect_type_id)]
        )


class Evidence(models.Model):
    """Serial number and photos for one unit of a return."""

    return_item = models.ForeignKey(
        "returns.ReturnItem", on_delete=models.PROTECT, related_name="evidence"
    )
    serial = models.CharField(max_length=100, blank=True, default="")
    uploaded_by = models.CharField(max_length=20, help_text="Actor kind: customer, staff, api…")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"evidence {self.pk} for item {self.return_item_id}"


class EvidencePhoto(models.Model):
    """A photo stored through the default storage under evidence/<rma>/."""

    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, related_name="photos", null=True, blank=True
    )
    inspection = models.ForeignKey(
        "Inspection", on_delete=models.PROTECT, related_name="photos", null=True, blank=True
    )
    file = models.FileField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(evidence__isnull=False) | Q(inspection__isnull=False),
                name="photo_belongs_somewhere",
            )
        ]

    def __str__(self) -> str:
        return self.file.name


class Assessment(models.Model):
    """The automatic checks on a defect claim, with readable reasons."""

    return_item = models.OneToOneField(
        "returns.ReturnItem", on_delete=models.PROTECT, related_name="assessment"
    )
    warranty = models.CharField(max_length=10, choices=Warranty.choices)
    warranty_ends_at = models.DateTimeField(null=True, blank=True)
    pattern = models.ForeignKey(
        DefectPattern, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    serial_match = models.BooleanField(null=True, blank=True)
    recommendation = models.CharField(max_length=20, choices=Outcome.choices)
    reasons = models.JSONField(default=list)
    decided_automatically = models.BooleanField(default=False)
    applied = models.BooleanField(default=False, help_text="The outcome became the resolution.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"item {self.return_item_id}: {self.recommendation}"


class Inspection(models.Model):
    """One QC inspection of a unit at the receiving location."""

    return_item = models.ForeignKey(
        "returns.ReturnItem", on_delete=models.PROTECT, related_name="inspections"
    )
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    passed = models.BooleanField()
    grade = models.CharField(max_length=20, blank=True, default="")
    checklist = models.JSONField(default=dict, blank=True)
    disposition = models.CharField(max_length=30, choices=Disposition.choices)
    notes = models.CharField(max_length=500, blank=True, default="")
    inspected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"inspection of item {self.return_item_id}: {self.disposition}"


class RepairOrder(ConcurrentTransitionMixin, models.Model):
    """A work order for a unit under a repair resolution: the unit is
    repaired and shipped back to the customer."""

    return_item = models.OneToOneField(
        "returns.ReturnItem", on_delete=models.PROTECT, related_name="repair_order"
    )
    state = FSMField(default=RepairState.OPEN, choices=RepairState.choices, protected=True)
    shipment = models.ForeignKey(
        "orders.Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"repair {self.pk} ({self.state})"

    @transition(field=state, source=RepairState.OPEN, target=RepairState.IN_REPAIR)
    def start(self, notes: str):
        self.notes = notes or self.notes

    @transition(
        field=state, source=[RepairState.OPEN, RepairState.IN_REPAIR], target=RepairState.RETURNED
    )
    def send_back(self, shipment, notes: str):
        self.shipment, self.notes = shipment, notes or self.notes


class SkuQuality(SKU):
    """The per-SKU quality report in the admin (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "SKU quality"
        verbose_name_plural = "SKU quality report"
