from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"

    def ready(self) -> None:
        # sla reads returns and refunds and writes only its own tables; it
        # registers its reaction after refunds' (INSTALLED_APPS order), so a
        # refund created by the same change already counts.
        from returns.apis import RETURN_OUTPUT_EXTENSIONS
        from returns.services import RETURN_REACTIONS

        from .apis import return_sla_extension
        from .services import sla_sync

        if sla_sync not in RETURN_REACTIONS:
            RETURN_REACTIONS.append(sla_sync)
        if return_sla_extension not in RETURN_OUTPUT_EXTENSIONS:
            RETURN_OUTPUT_EXTENSIONS.append(return_sla_extension)
