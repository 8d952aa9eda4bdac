"""The credit note of an issued refund."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from oms.dates import local_day

from ..models import CreditNote, Refund


def credit_note_create(refund: Refund) -> CreditNote:
    lines = []
    taxable_total = tax_total = Decimal("0")
    for item in refund.items.select_related("unit__line", "unit__sku").order_by("pk"):
        taxable = item.amount - item.tax
        lines.append(
            {
                "unit": item.unit_id,
                "sku": item.unit.sku.code,
                "description": item.unit.sku.name,
                "kind": item.kind,
                "tax_rate": str(item.unit.line.tax_rate),
                "taxable": str(taxable),
                "tax": str(item.tax),
                "total": str(item.amount),
            }
        )
        taxable_total += taxable
        tax_total += item.tax
    if refund.fees_amount:
        lines.append(
            {
                "description": "Return fees",
                "total": str(-refund.fees_amount),
                "taxable": str(-refund.fees_amount),
                "tax": "0.00",
            }
        )
        taxable_total -= refund.fees_amount
    if refund.shipping_amount:
        lines.append(
            {
                "description": "Shipping charge",
                "total": str(refund.shipping_amount),
                "taxable": str(refund.shipping_amount),
                "tax": "0.00",
            }
        )
        taxable_total += refund.shipping_amount
    number = f"CN-{local_day(timezone.now()).year}-{refund.pk:07d}"
    return CreditNote.objects.create(
        refund=refund,
        number=number,
        issued_at=refund.issued_at,
        lines=lines,
        taxable_total=taxable_total,
        tax_total=tax_total,
        total=refund.amount,
        currency=refund.currency,
    )
