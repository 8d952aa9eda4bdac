"""The portal's own tables: one-time codes for customers, and the photos they
attach to damage and defect claims."""

from django.db import models


class PortalVerification(models.Model):
    """A one-time code emailed for an order lookup. Only a keyed hash is kept;
    the code expires after ten minutes and allows five tries."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("orders.Customer", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"code for {self.order_id} ({'used' if self.verified_at else 'open'})"


def evidence_path(instance: "ReturnPhoto", filename: str) -> str:
    return f"evidence/{instance.return_request.rma}/{filename}"


class ReturnPhoto(models.Model):
    """A photo a customer attached to a damaged or defective unit."""

    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="photos"
    )
    unit = models.ForeignKey("orders.Unit", on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=evidence_path, max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.file.name
