import datetime

from django.db import migrations

# National holidays with fixed dates, plus Diwali and Holi for 2026 and 2027.
HOLIDAYS = [
    ("2026-01-26", "Republic Day"), ("2026-03-04", "Holi"), ("2026-08-15", "Independence Day"),
    ("2026-10-02", "Gandhi Jayanti"), ("2026-11-08", "Diwali"), ("2026-12-25", "Christmas"),
    ("2027-01-26", "Republic Day"), ("2027-03-22", "Holi"), ("2027-08-15", "Independence Day"),
    ("2027-10-02", "Gandhi Jayanti"), ("2027-10-29", "Diwali"), ("2027-12-25", "Christmas"),
]


def create(apps, schema_editor):
    Calendar = apps.get_model("sla", "BusinessCalendar")
    Holiday = apps.get_model("sla", "Holiday")
    cal, _ = Calendar.objects.get_or_create(
        name="India (Mon–Sat, 10:00–19:00 IST)",
        defaults={"timezone": "Asia/Kolkata", "day_start": datetime.time(10), "day_end": datetime.time(19),
                  "workdays": [0, 1, 2, 3, 4, 5]},
    )
    for day, name in HOLIDAYS:
        Holiday.objects.get_or_create(calendar=cal, date=datetime.date.fromisoformat(day), defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
