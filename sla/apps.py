from django.apps import AppConfig


class SlaConfig(AppConfig):
    # sla reads returns and refunds and writes only its own tables;
    # ``flows.reactions.return_changed`` calls ``sla_sync`` after refunds.
    name = "sla"
