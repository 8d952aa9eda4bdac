"""The offline gateway kept a copy of the customer's bank/UPI details in
clear on each bank-transfer refund it recorded (GatewayRefund.details). The
full details now live only encrypted (returns.Return.payout_details,
refunds.Payout.details); the copies are masked."""

from django.db import migrations


def mask_copies(apps, schema_editor):
    from returns.payout_details import payout_mask

    GatewayRefund = apps.get_model("refunds", "GatewayRefund")
    for row in GatewayRefund.objects.only("pk", "details").iterator():
        if row.details:
            GatewayRefund.objects.filter(pk=row.pk).update(details=payout_mask(row.details))


class Migration(migrations.Migration):
    dependencies = [("refunds", "0004_payouts")]

    operations = [migrations.RunPython(mask_copies, migrations.RunPython.noop)]
