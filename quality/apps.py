from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"

    def ready(self) -> None:
        # Reference data only. quality's part in the return flows (the line
        # validator, the reaction, the body keys) is called by ``flows``.
        from django.db.models.signals import post_migrate

        from .reference import ensure_defect_types

        post_migrate.connect(ensure_defect_types, sender=self, dispatch_uid="quality.defect_types")
