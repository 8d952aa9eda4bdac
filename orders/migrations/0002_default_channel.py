from django.db import migrations


def create_web_channel(apps, schema_editor):
    Channel = apps.get_model("orders", "Channel")
    Channel.objects.get_or_create(code="web", defaults={"name": "Web store", "platform": "native"})


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(create_web_channel, migrations.RunPython.noop)]
