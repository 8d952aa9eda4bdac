from django.db import models


class RefundState(models.TextChoices):
    PENDING = "pending", "Pending"  # due; waiting for the gateway
    ISSUED = "issued", "Issued"  # the gateway accepted it; money is on its way back
    FAILED = "failed", "Failed"  # the gateway refused or errored; retried, then escalated
    AWAITING_PAYOUT = "awaiting_payout", "Awaiting payout"  # bank/UPI: finance has yet to pay it


class RefundKind(models.TextChoices):
    RETURN = "return", "Returned items"
    KEEP_IT = "keep_it", "Keep-it"
    PARTIAL_CREDIT = "partial_credit", "Partial credit"
    EXCHANGE_DIFFERENCE = "exchange_difference", "Cheaper exchange"
    INSTANT = "instant", "Instant refund"
    CANCELLATION = "cancellation", "Cancelled before shipping"


class PayoutState(models.TextChoices):
    PENDING = "pending", "Pending"  # in finance's worklist, to be paid (again, after a correction)
    PAID = "paid", "Paid"  # finance recorded the bank's UTR; its refund tender is issued
    FAILED = "failed", "Failed"  # the bank returned it (wrong details); the customer corrects them


class PayoutRail(models.TextChoices):
    UPI = "upi", "UPI"  # to a UPI id (VPA)
    BANK = "bank", "Bank account"  # NEFT / IMPS to an account number + IFSC


# Refunds whose money is still owed: counted as promised against their tenders.
REFUND_UNSETTLED = (RefundState.PENDING, RefundState.FAILED, RefundState.AWAITING_PAYOUT)
