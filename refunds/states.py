from django.db import models


class RefundState(models.TextChoices):
    PENDING = "pending", "Pending"  # due; waiting for the gateway
    PROCESSING = "processing", "Processing"  # a gateway accepted it; not reported processed yet
    ISSUED = "issued", "Issued"  # every tender processed; money is on its way back
    FAILED = "failed", "Failed"  # the gateway refused or errored; retried, then escalated
    AWAITING_PAYOUT = "awaiting_payout", "Awaiting payout"  # bank/UPI: finance has yet to pay it


class RefundKind(models.TextChoices):
    RETURN = "return", "Returned items"
    KEEP_IT = "keep_it", "Keep-it"
    PARTIAL_CREDIT = "partial_credit", "Partial credit"
    EXCHANGE_DIFFERENCE = "exchange_difference", "Cheaper exchange"
    INSTANT = "instant", "Instant refund"
    CANCELLATION = "cancellation", "Cancelled before shipping"


class RecoveryState(models.TextChoices):
    OPEN = "open", "Open"  # the customer owes it; in finance's and CX's queue
    COLLECTED = "collected", "Collected"  # paid: gateway charge, payment link or next order
    WRITTEN_OFF = "written_off", "Written off"  # a supervisor gave it up, with a reason


class RecoveryReason(models.TextChoices):
    INSTANT_REFUND_QC_FAILED = (
        "instant_refund_qc_failed",
        "Refunded at pickup, then failed QC",
    )  # the money went out before QC; the unit goes back to the customer
    EXCHANGE_QC_FAILED = (
        "exchange_qc_failed",
        "Replacement shipped, then the original failed QC",
    )  # exchange-first: the replacement stays with the customer, so does the original


class RecoveryMethod(models.TextChoices):
    NONE = "", "Not settled yet"
    GATEWAY = "gateway", "Charged through the gateway"  # the tender's gateway can charge
    PAYMENT_LINK = "payment_link", "Payment link"  # a link sent to the customer
    NEXT_ORDER = "next_order", "On the next order"  # applied to the customer's next order
    WRITE_OFF = "write_off", "Written off"  # given up by a supervisor


class PayoutState(models.TextChoices):
    PENDING = "pending", "Pending"  # in finance's worklist, to be paid (again, after a correction)
    PAID = "paid", "Paid"  # finance recorded the bank's UTR; its refund tender is issued
    FAILED = "failed", "Failed"  # the bank returned it (wrong details); the customer corrects them


class PayoutRail(models.TextChoices):
    UPI = "upi", "UPI"  # to a UPI id (VPA)
    BANK = "bank", "Bank account"  # NEFT / IMPS to an account number + IFSC


# Refunds whose money is still owed: counted as promised against their tenders.
REFUND_UNSETTLED = (
    RefundState.PENDING,
    RefundState.FAILED,
    RefundState.AWAITING_PAYOUT,
    RefundState.PROCESSING,
)


class TenderState(models.TextChoices):
    """One tender's refund at its gateway; the refund's state derives from them."""

    PENDING = "pending", "Pending"  # not sent to the gateway yet (or sent and rolled back)
    PROCESSING = "processing", "Processing"  # accepted by the gateway, not processed yet
    PROCESSED = "processed", "Processed"  # the gateway reports the money returned
    FAILED = "failed", "Failed"  # the gateway refused it or reported it failed
