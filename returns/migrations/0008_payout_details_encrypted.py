"""Payout details (bank account, IFSC, UPI id, holder name) were stored in
clear in a JSON column; from here they are a Fernet token (oms.crypto,
key OMS_PAYOUT_KEY). The rows are copied into a new encrypted column, the
clear one is dropped, and the new one takes its name."""

from django.db import migrations

import oms.crypto


def encrypt_existing(apps, schema_editor):
    Return = apps.get_model("returns", "Return")
    rows = Return.objects.values_list("pk", "payout_details")
    for pk, details in rows.iterator():
        if details:
            Return.objects.filter(pk=pk).update(payout_details_enc=dict(details))


def decrypt_back(apps, schema_editor):
    Return = apps.get_model("returns", "Return")
    for pk, details in Return.objects.values_list("pk", "payout_details_enc").iterator():
        if details:
            Return.objects.filter(pk=pk).update(payout_details=details)


class Migration(migrations.Migration):
    dependencies = [("returns", "0007_inspect_return_permission")]

    operations = [
        migrations.AddField(
            model_name="return",
            name="payout_details_enc",
            field=oms.crypto.EncryptedJSONField(blank=True, default=dict),
        ),
        migrations.RunPython(encrypt_existing, decrypt_back),
        migrations.RemoveField(model_name="return", name="payout_details"),
        migrations.RenameField(
            model_name="return", old_name="payout_details_enc", new_name="payout_details"
        ),
        migrations.AlterField(
            model_name="return",
            name="payout_details",
            field=oms.crypto.EncryptedJSONField(
                blank=True, default=dict, help_text="Bank/UPI details for a payout, encrypted at rest."
            ),
        ),
    ]
