"""The refund timeline vocabulary."""

from __future__ import annotations


class RefundEventType:
    CREATED = "refund.created"
    PROCESSING = "refund.processing"
    ISSUED = "refund.issued"
    GATEWAY_REPORT = "refund.gateway_report"
    FAILED = "refund.failed"
    NOTHING_DUE = "refund.nothing_due"
    INSTANT_QC_FAILED = "refund.instant_qc_failed"
    ESCALATED = "refund.escalated"
    RECOVERY_OPENED = "recovery.opened"
    RECOVERY_LINK_SENT = "recovery.payment_link"
    RECOVERY_APPLIED = "recovery.next_order"
    RECOVERY_CHARGE_FAILED = "recovery.charge_failed"
    RECOVERY_LINK_FAILED = "recovery.link_failed"
    RECOVERY_LINK_CANCELLED = "recovery.link_cancelled"
    RECOVERY_PAID_LATE = "recovery.paid_late"
    RECOVERY_COLLECTED = "recovery.collected"
    RECOVERY_WRITTEN_OFF = "recovery.written_off"
    AWAITING_PAYOUT = "refund.awaiting_payout"
    PAYOUT_SCHEDULED = "payout.scheduled"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"
    PAYOUT_CORRECTED = "payout.corrected"
