from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .reference import ensure_reference_data

        post_migrate.connect(
            ensure_reference_data, sender=self, dispatch_uid="returns.reference_data"
        )
        # A delivery with refused units opens a doorstep-refusal return in the
        # same transaction; orders does not import returns.
        from orders.services import DELIVERY_REACTIONS

        if _on_delivery not in DELIVERY_REACTIONS:
            DELIVERY_REACTIONS.append(_on_delivery)

        from orders.apis import ORDER_OUTPUT_EXTENSIONS

        from .apis import order_returns_extension

        if order_returns_extension not in ORDER_OUTPUT_EXTENSIONS:
            ORDER_OUTPUT_EXTENSIONS.append(order_returns_extension)


def _on_delivery(result, actor):
    from .services import after_change, doorstep_refusal_create

    ret = doorstep_refusal_create(delivery=result, actor=actor)
    if ret is not None:
        after_change(ret, actor)
