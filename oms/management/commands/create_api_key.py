from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from oms.models import ApiKey, hash_key
from oms.roles import ROLES, roles_sync


class Command(BaseCommand):
    help = "Create an API key for a role. The key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=ROLES)

    @transaction.atomic
    def handle(self, *args, name, role, **options):
        if not Group.objects.filter(name=role).exists():
            roles_sync()
        group = Group.objects.filter(name=role).first()
        if group is None:
            raise CommandError(f"Role {role!r} does not exist; run migrate first.")
        prefix, raw = ApiKey.generate()
        user = get_user_model().objects.create_user(username=f"apikey-{prefix}", is_active=True)
        user.set_unusable_password()
        user.save()
        user.groups.add(group)
        ApiKey.objects.create(
            name=name, role=role, prefix=prefix, key_hash=hash_key(raw), user=user
        )
        self.stdout.write(
            f"Created API key {name!r} with role {role}. Store it now; it is not shown again."
        )
        self.stdout.write(raw)
