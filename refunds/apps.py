from django.apps import AppConfig


class RefundsConfig(AppConfig):
    # refunds depends on returns and orders, never the reverse; ``flows``
    # calls it after return changes and cancellations.
    name = "refunds"
