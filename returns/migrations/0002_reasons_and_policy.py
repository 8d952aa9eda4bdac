from django.db import migrations

REASONS = [
    ("size_too_small", "Size too small", False, False),
    ("size_too_large", "Size too large", False, False),
    ("changed_mind", "Changed my mind", False, False),
    ("not_as_described", "Not as described", False, False),
    ("defective", "Defective", True, True),
    ("damaged_in_transit", "Damaged in transit", True, True),
    ("wrong_item", "Wrong item sent", True, False),
    ("refused_at_door", "Refused at the door", False, False),
]


def seed(apps, schema_editor):
    Reason = apps.get_model("returns", "ReturnReason")
    for code, label, merchant_fault, defect in REASONS:
        Reason.objects.get_or_create(code=code, defaults={"label": label, "merchant_fault": merchant_fault, "defect": defect})
    Policy = apps.get_model("returns", "ReturnPolicy")
    if not Policy.objects.exists():
        Policy.objects.create(version=1, name="Standard")


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
