from django.db import models

from .refunds import Refund


class LoyaltyAdjustment(models.Model):
    """The loyalty points a refund reverses (earned) and gives back
    (redeemed): the sum of its units' shares, fixed at intake."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="loyalty_adjustments"
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, related_name="loyalty_adjustment"
    )
    earned_reversed = models.PositiveIntegerField(default=0)
    redeemed_returned = models.PositiveIntegerField(default=0)
    units = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "pk"]

    def __str__(self) -> str:
        return f"refund {self.refund_id}: -{self.earned_reversed} / +{self.redeemed_returned}"


class LoyaltyUnitReversal(models.Model):
    """A unit's points are reversed once, whatever refunds it is part of."""

    adjustment = models.ForeignKey(
        LoyaltyAdjustment, on_delete=models.PROTECT, related_name="unit_rows"
    )
    unit = models.OneToOneField(
        "orders.Unit", on_delete=models.PROTECT, related_name="loyalty_reversal"
    )

    def __str__(self) -> str:
        return f"unit {self.unit_id}"
