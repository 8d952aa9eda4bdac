from django.db import models


class LegKind(models.TextChoices):
    PICKUP = "pickup", "Reverse pickup"
    QC = "qc", "Quality check"
    EXCHANGE_DISPATCH = "exchange_dispatch", "Exchange dispatch"
    REFUND = "refund", "Refund issuance"


class LegState(models.TextChoices):
    RUNNING = "running", "Running"  # clock started, within 80% of its time
    AT_RISK = "at_risk", "At risk"  # past 80% of its time; shown in the agents' queue
    BREACHED = "breached", "Breached"  # past its due time; the system acted on its own
    COMPLETED = "completed", "Completed"  # its completing event happened
    CANCELLED = (
        "cancelled",
        "Cancelled",
    )  # the return was cancelled or rejected, or the step no longer applies


OPEN_LEG_STATES = (LegState.RUNNING, LegState.AT_RISK)

OWNER_TEAMS: dict[str, str] = {
    LegKind.PICKUP: "logistics",
    LegKind.QC: "warehouse",
    LegKind.EXCHANGE_DISPATCH: "warehouse",
    LegKind.REFUND: "finance",
}

# Courier transit from pickup to the warehouse, used to project the receipt
# (and the legs after it) before the return arrives. Wall-clock hours.
TRANSIT_HOURS = 24
