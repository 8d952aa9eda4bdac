from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS platform"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from .roles import roles_sync

        # Groups need the permissions that migrate creates; sync after it.
        post_migrate.connect(roles_sync, dispatch_uid="oms.roles_sync")
