from django.db import models


class DeliveryState(models.TextChoices):
    RECEIVED = "received", "Received"  # stored and acknowledged; processing queued
    PROCESSED = "processed", "Processed"  # applied to the order (or found already applied)
    IGNORED = "ignored", "Ignored"  # nothing to apply (topic not handled, order not payable yet)
    FAILED = "failed", "Failed, will retry"  # an attempt failed with a transient error
    DEAD = "dead", "Dead letter"  # gave up: needs a fix, then a replay


# States in which nothing more happens unless someone replays the delivery.
SETTLED_STATES = {DeliveryState.PROCESSED, DeliveryState.IGNORED, DeliveryState.DEAD}
