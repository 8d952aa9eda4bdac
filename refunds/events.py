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
