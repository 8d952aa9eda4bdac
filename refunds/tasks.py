from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=6)
def refund_issue_task(self, refund_id: int) -> str:
    from flows.refunds import refund_issue

    from .gateways import GatewayError

    try:
        return refund_issue(refund_id=refund_id).state
    except GatewayError as exc:
        raise self.retry(exc=exc, countdown=60 * (2**self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, max_retries=6)
def recovery_charge_task(self, recovery_id: int) -> str:
    from flows.recoveries import recovery_charge

    return recovery_charge(recovery_id=recovery_id).state


@shared_task(bind=True, acks_late=True, max_retries=6)
def recovery_link_task(self, recovery_id: int) -> str:
    """The tender's gateway makes the recovery's payment link; a gateway that
    cannot answer is asked again with backoff (same key: one link)."""
    from flows.recoveries import recovery_link

    from .gateways import GatewayError

    give_up = self.request.retries >= self.max_retries
    try:
        return recovery_link(recovery_id=recovery_id, give_up=give_up).method
    except GatewayError as exc:
        raise self.retry(exc=exc, countdown=60 * (2**self.request.retries)) from exc


@shared_task(bind=True, acks_late=True, max_retries=6)
def recovery_link_cancel_task(self, recovery_id: int) -> bool:
    """A settled recovery's gateway link is cancelled, so it is not paid too."""
    from flows.recoveries import recovery_link_close

    from .gateways import GatewayError

    try:
        return recovery_link_close(recovery_id=recovery_id)
    except GatewayError as exc:
        raise self.retry(exc=exc, countdown=60 * (2**self.request.retries)) from exc


@shared_task(acks_late=True)
def wallet_expire_due_task() -> int:
    """Beat: expire store credit past its date (refunds.wallet)."""
    from .wallet import wallet_expire_due

    return wallet_expire_due()


@shared_task(acks_late=True)
def refunds_poll_processing_task() -> dict:
    """Beat: refunds still processing at a gateway are asked for their status
    (flows.refunds.refunds_poll_processing); idempotent."""
    from flows.refunds import refunds_poll_processing

    return refunds_poll_processing()
