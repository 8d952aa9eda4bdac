from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunds"

    def ready(self) -> None:
        # refunds depends on returns, never the reverse: it registers its
        # reactions with the returns services here.
        from returns.services import OPEN_MONEY_CHECKS, RETURN_REACTIONS

        from .services import refund_create_due, refund_has_open_money

        if refund_create_due not in RETURN_REACTIONS:
            RETURN_REACTIONS.append(refund_create_due)
        if refund_has_open_money not in OPEN_MONEY_CHECKS:
            OPEN_MONEY_CHECKS.append(refund_has_open_money)

        # and with orders: a cancellation refunds what prepaid tenders paid.
        from orders.services import CANCEL_REACTIONS

        from .cancellation import refund_for_cancellation

        if refund_for_cancellation not in CANCEL_REACTIONS:
            CANCEL_REACTIONS.append(refund_for_cancellation)
