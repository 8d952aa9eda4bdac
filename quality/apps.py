from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"

    def ready(self) -> None:
        # quality depends on returns, never the reverse: it registers a
        # validator for return lines, a reaction to return changes and a key
        # in the return body. The reaction goes first so a resolution it
        # changes (partial credit, replacement) is what refunds then prices.
        from django.db.models.signals import post_migrate

        from returns.apis import RETURN_OUTPUT_EXTENSIONS
        from returns.services import RETURN_ITEM_VALIDATORS, RETURN_REACTIONS

        from .apis import return_assessment_extension
        from .reference import ensure_defect_types
        from .services import quality_react, return_items_validate

        post_migrate.connect(ensure_defect_types, sender=self, dispatch_uid="quality.defect_types")
        if return_items_validate not in RETURN_ITEM_VALIDATORS:
            RETURN_ITEM_VALIDATORS.append(return_items_validate)
        if quality_react not in RETURN_REACTIONS:
            RETURN_REACTIONS.insert(0, quality_react)
        if return_assessment_extension not in RETURN_OUTPUT_EXTENSIONS:
            RETURN_OUTPUT_EXTENSIONS.append(return_assessment_extension)
