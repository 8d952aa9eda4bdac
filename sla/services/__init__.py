"""sla's writes: legs (start, sync, at risk, rule copy) and breaches (decide,
start, record). ``flows.sla`` runs a breach; sla never calls returns or refunds."""

from .breach import (
    BreachDecision,
    BreachStep,
    Outcome,
    breach_decide,
    leg_breach_entry,
    leg_breach_record,
    leg_breach_start,
    legs_breach_many,
)
from .legs import (
    SyncStep,
    leg_get_for_update,
    leg_mark_at_risk_if_due,
    leg_start,
    legs_start_many,
    sla_rules_copy,
    sla_sync,
    sla_sync_plan,
)
from .sweep import ChunkContext, legs_mark_at_risk_many, sla_chunk_context, sla_chunk_lock

__all__ = [
    "BreachDecision",
    "BreachStep",
    "ChunkContext",
    "Outcome",
    "SyncStep",
    "breach_decide",
    "leg_breach_entry",
    "leg_breach_record",
    "leg_breach_start",
    "leg_get_for_update",
    "leg_mark_at_risk_if_due",
    "leg_start",
    "legs_breach_many",
    "legs_mark_at_risk_many",
    "legs_start_many",
    "sla_chunk_context",
    "sla_chunk_lock",
    "sla_rules_copy",
    "sla_sync",
    "sla_sync_plan",
]
