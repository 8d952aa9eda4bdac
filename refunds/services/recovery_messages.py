"""What the customer is told about an amount they owe, in plain words."""

from __future__ import annotations

from ..models import Recovery
from ..states import RecoveryReason


def _why(recovery: Recovery) -> str:
    rma = recovery.return_request.rma
    if recovery.reason == RecoveryReason.INSTANT_REFUND_QC_FAILED:
        return (
            f"The item you sent back with return {rma} did not pass our inspection, so we are "
            "sending it back to you. We had already refunded you "
            f"{recovery.amount} {recovery.currency} for it when the courier collected it, "
            "so that refund is now due back to us."
        )
    return (
        f"The item you sent back with return {rma} did not pass our inspection, so we are "
        "sending it back to you. You already have the replacement we sent you ahead of the "
        f"return, so its price of {recovery.amount} {recovery.currency} is now due."
    )


CONTACT = "If you think this is a mistake, just reply to this email and we'll look into it."


def recovery_message(recovery: Recovery, template: str, **ctx) -> tuple[str, str]:
    amount = f"{recovery.amount} {recovery.currency}"
    rma = recovery.return_request.rma
    if template == "recovery_link":
        return (
            f"Payment due for return {rma}: {amount}",
            f"{_why(recovery)}\n\nYou can pay {amount} securely here: {recovery.payment_link}"
            f"\n\n{CONTACT}",
        )
    if template == "recovery_next_order":
        order = ctx["order"]
        return (
            f"{amount} due from return {rma} added to order {order.number}",
            f"{_why(recovery)}\n\nAs you've placed a new order ({order.number}), we'll collect "
            f"the {amount} together with it. You can still pay now with this link: "
            f"{recovery.payment_link}\n\n{CONTACT}",
        )
    if template == "recovery_collected":
        if recovery.method == "gateway":
            how = "charged to the payment method you used for this order"
        else:
            how = "received"
        return (
            f"Payment of {amount} for return {rma} received",
            f"Thank you: the {amount} due for return {rma} has been {how} (reference "
            f"{recovery.reference}). Nothing more is due.",
        )
    if template == "recovery_written_off":
        return (
            f"Nothing is due for return {rma}",
            f"We've looked again at return {rma}: you don't owe us the {amount} "
            "we wrote to you about. Nothing more is due.",
        )
    raise KeyError(template)
