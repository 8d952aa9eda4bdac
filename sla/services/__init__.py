"""sla's writes: legs (start, sync, at risk, rule copy) and breaches (decide,
start, record). ``flows.sla`` runs a breach; sla never calls returns or refunds."""

from .breach import (
    BreachDecision,
    BreachStep,
    Outcome,
    breach_decide,
    leg_breach_record,
    leg_breach_start,
)
from .legs import (
    leg_get_for_update,
    leg_mark_at_risk_if_due,
    leg_start,
    sla_rules_copy,
    sla_sync,
)
from .sweep import sla_chunk_lock

__all__ = [
    "BreachDecision",
    "BreachStep",
    "Outcome",
    "breach_decide",
    "leg_breach_record",
    "leg_breach_start",
    "leg_get_for_update",
    "leg_mark_at_risk_if_due",
    "leg_start",
    "sla_chunk_lock",
    "sla_rules_copy",
    "sla_sync",
]
