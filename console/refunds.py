"""Finance's refund queue in the console: refunds a gateway failed (with its
reason, per tender) or is still processing, and a retry button that goes
through the same use case as ``POST /api/v1/refunds/{id}/retry/``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from flows.refunds import refund_retry
from oms.errors import ApplicationError
from refunds.selectors import refund_list

from .access import console_view, forbidden, staff_actor

QUEUE_STATES = ("failed", "processing", "pending")


@console_view("refunds.view_refund")
def refund_queue(request):
    state = request.GET.get("state") or "failed"
    if state not in QUEUE_STATES:
        state = "failed"
    return render(
        request,
        "console/refunds.html",
        {
            "state": state,
            "states": QUEUE_STATES,
            "refunds": list(refund_list(state=state)[:200]),
            "can_retry": request.user.has_perm("refunds.change_refund"),
        },
    )


@require_POST
@console_view("refunds.view_refund")
def refund_retry_view(request, refund_id: int):
    if not request.user.has_perm("refunds.change_refund"):
        return forbidden(request, "Only finance can retry refunds.")
    try:
        refund = refund_retry(refund_id=refund_id, actor=staff_actor(request))
    except ApplicationError as exc:
        messages.error(request, f"Refund {refund_id}: {exc.message}")
    else:
        if refund.state == "failed":
            messages.error(request, f"Refund {refund_id} failed again: {refund.failure_reason}")
        else:
            messages.success(request, f"Refund {refund_id} is {refund.state}.")
    back = request.POST.get("back")
    return redirect(
        f"{reverse('console:refunds')}?state={back if back in QUEUE_STATES else 'failed'}"
    )
