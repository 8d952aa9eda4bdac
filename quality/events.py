"""Quality's timeline events. They sit on the return's timeline (the
``return.`` prefix) next to ``returns.events.ReturnEventType``."""

from django.db import models


class QualityEventType(models.TextChoices):
    QUALITY_DECIDED = "return.quality_decided"
    REPAIR_OPENED = "return.repair_opened"
    REPAIR_STARTED = "return.repair_started"
    REPAIR_COMPLETED = "return.repair_completed"
    ROOT_CAUSE_TAGGED = "return.root_cause_tagged"
