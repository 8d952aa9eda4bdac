"""Writes for refunds, split by capability: refunds created when due
(``due``), issued through a gateway (``issue``) with a credit note
(``credit_notes``), and escalated to finance (``escalate``). Amounts come from
``refunds.calculator``; every refund row is written by ``refunds.builder``."""

from ..events import RefundEventType
from ..selectors import refunds_by_return
from .credit_notes import credit_note_create
from .due import WAITING, DueRefunds, refund_create_due, refund_create_due_held
from .escalate import refund_escalate
from .gateway_reports import gateway_webhook_done, gateway_webhook_store, refund_gateway_report
from .issue import INSTRUMENT_LEDGER, refund_issue_failed, refund_issue_money, refund_retry_check
from .payouts import payout_details_correct, payout_fail, payout_pay, utr_clean

__all__ = [
    "INSTRUMENT_LEDGER",
    "WAITING",
    "DueRefunds",
    "RefundEventType",
    "credit_note_create",
    "gateway_webhook_done",
    "gateway_webhook_store",
    "payout_details_correct",
    "payout_fail",
    "payout_pay",
    "refund_create_due",
    "refund_create_due_held",
    "refund_escalate",
    "refund_gateway_report",
    "refund_issue_failed",
    "refund_issue_money",
    "refund_retry_check",
    "refunds_by_return",
    "utr_clean",
]
