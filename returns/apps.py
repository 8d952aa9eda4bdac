from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .reference import ensure_reference_data

        post_migrate.connect(
            ensure_reference_data, sender=self, dispatch_uid="returns.reference_data"
        )
