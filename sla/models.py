from decimal import Decimal

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, transition

from oms.config_cache import ConfigModel
from oms.fsm import ConcurrentTransitionMixin

from .states import LegKind, LegState


class BusinessCalendar(ConfigModel):
    """Working hours and holidays a leg's clock can run on."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=50, default="Asia/Kolkata")
    day_start = models.TimeField(default="10:00")
    day_end = models.TimeField(default="19:00")
    workdays = models.JSONField(
        default=list, help_text="Weekday numbers that are working days: 0 = Monday … 6 = Sunday."
    )

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class SlaRule(ConfigModel):
    """How long a leg may take, per policy version, soft-return type and
    channel (blank = any). The most specific rule wins; with none, the
    policy's ``sla_hours`` on wall-clock time apply."""

    policy = models.ForeignKey(
        "returns.ReturnPolicy", on_delete=models.CASCADE, related_name="sla_rules"
    )
    leg = models.CharField(max_length=20, choices=LegKind.choices)
    return_type = models.CharField(max_length=30, blank=True, default="")
    channel = models.CharField(max_length=40, blank=True, default="")
    hours = models.DecimalField(max_digits=7, decimal_places=2)
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Business hours and holidays; blank = wall-clock time.",
    )
    owner_team = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "leg", "return_type", "channel"], name="sla_rule_unique"
            ),
            models.CheckConstraint(condition=Q(hours__gt=0), name="sla_rule_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.leg} {self.return_type or '*'} {self.channel or '*'}: {self.hours}h"


class Leg(ConcurrentTransitionMixin, models.Model):
    """One timed step of a return with its owner and clock."""

    return_request = models.ForeignKey(
        "returns.Return", on_delete=models.PROTECT, related_name="legs"
    )
    leg = models.CharField(max_length=20, choices=LegKind.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    state = FSMField(default=LegState.RUNNING, choices=LegState.choices, protected=True)
    owner_team = models.CharField(max_length=40)
    hours = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("0"))
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT)
    started_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=60, blank=True, default="")
    action_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["return_request_id", "started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["return_request", "leg"],
                condition=Q(state__in=["running", "at_risk"]),
                name="one_open_leg_per_kind",
            ),
        ]
        indexes = [
            # The sweep reads only legs that are due (or at risk) through these
            # partial indexes, so its cost follows the due legs, not all open ones.
            models.Index(
                fields=["due_at"],
                condition=Q(state__in=["running", "at_risk"]),
                name="sla_leg_open_due",
            ),
            models.Index(
                fields=["at_risk_at"], condition=Q(state="running"), name="sla_leg_running_risk"
            ),
            models.Index(fields=["state", "due_at"], name="sla_leg_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.leg} of return {self.return_request_id} ({self.state})"

    @transition(field=state, source=LegState.RUNNING, target=LegState.AT_RISK)
    def mark_at_risk(self):
        pass

    @transition(field=state, source=[LegState.RUNNING, LegState.AT_RISK], target=LegState.BREACHED)
    def breach(self, at, action, reason):
        self.breached_at, self.action, self.action_reason = at, action, reason[:500]

    @transition(
        field=state,
        source=[LegState.RUNNING, LegState.AT_RISK, LegState.BREACHED],
        target=LegState.COMPLETED,
    )
    def complete(self, at):
        self.completed_at = at

    @transition(field=state, source=[LegState.RUNNING, LegState.AT_RISK], target=LegState.CANCELLED)
    def cancel(self, at):
        self.completed_at = at
