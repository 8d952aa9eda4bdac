"""Finishing a return from the console, without the API: dispatch an exchange
(with the courier's AWB), collect a price difference, cancel a return,
convert an exchange to a refund or units to keep-it, and reject a held
return with a reason from a list.

Every action goes through the same use case as the events API
(``flows.return_events.return_handle_event``, ``flows.return_review``), with
the same permission per event type (``returns.apis.actions.EVENT_PERMISSIONS``).
The ones that cannot be undone (cancel, convert, reject) ask for
confirmation on a page of their own first."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows.return_events import return_handle_event
from flows.return_review import return_reject
from oms.errors import ApplicationError, NotFound
from orders.states import UnitState
from returns.apis.actions import EVENT_PERMISSIONS
from returns.messages import REJECT_REASONS
from returns.selectors import return_get
from returns.services import ReturnEventData
from returns.states import NO_PICKUP, OPEN_STATES, Resolution, ReturnState

from .access import console_view, forbidden, staff_actor
from .forms import CancelForm, ConvertForm, DifferenceForm, DispatchForm, RejectForm

EXCHANGES = (Resolution.EXCHANGE, Resolution.REPLACEMENT)
DEFAULT_EVENT_PERM = "returns.record_return_event"


def _return_or_404(rma: str):
    try:
        return return_get(rma)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def may(user, kind: str) -> bool:
    """Whether ``user`` may record event ``kind``: the API's rule."""
    return any(user.has_perm(p) for p in EVENT_PERMISSIONS.get(kind, [DEFAULT_EVENT_PERM]))


def dispatchable(return_request, items) -> list:
    """Exchange items the warehouse can ship now (exchange-first policies
    allow it before the original is back)."""
    allowed = {UnitState.PENDING_EXCHANGE}
    if return_request.policy.exchange_dispatch_before_receipt:
        allowed |= {UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT, UnitState.RETURNED}
    return [
        i
        for i in items
        if i.resolution in EXCHANGES and not i.dispatched and i.unit.state in allowed
    ]


def finish_context(user, return_request, items) -> dict:
    """What the return page offers to finish the return, per permission and state."""
    is_open = return_request.state in OPEN_STATES
    in_review = return_request.state == ReturnState.PENDING_REVIEW
    waiting_exchange = [i for i in items if i.resolution in EXCHANGES and not i.dispatched]
    keepable = [
        i
        for i in items
        if i.resolution not in NO_PICKUP
        and i.unit.state == UnitState.RETURN_REQUESTED
        and not i.dispatched
    ]
    ctx: dict = {}
    active = is_open and not in_review
    ready = dispatchable(return_request, items) if active else []
    owed = sum(
        i.price_difference for i in ready if i.price_difference > 0 and not i.difference_collected
    )
    if ready and may(user, "exchange_dispatched"):
        ctx["dispatch_form"] = DispatchForm(items=ready)
        ctx["dispatch_owed"] = owed
    if owed and may(user, "difference_collected"):
        ctx["difference_form"] = DifferenceForm(initial={"amount": owed})
    cancellable = return_request.state in (
        ReturnState.APPROVED,
        ReturnState.PENDING_REVIEW,
    ) and all(i.unit.state == UnitState.RETURN_REQUESTED and not i.dispatched for i in items)
    ctx["can_cancel"] = cancellable and may(user, "cancelled")
    ctx["can_convert_refund"] = active and bool(waiting_exchange) and may(user, "convert_to_refund")
    ctx["can_convert_keep"] = active and bool(keepable) and may(user, "convert_to_keep")
    ctx["can_reject"] = in_review and user.has_perm("returns.review_return")
    return ctx


@console_view("returns.view_return")
@require_POST
def exchange_dispatch(request, rma: str):
    if not may(request.user, "exchange_dispatched"):
        return forbidden(request, "Recording a dispatch needs the events permission.")
    return_request = _return_or_404(rma)
    ready = dispatchable(return_request, list(return_request.items.all()))
    form = DispatchForm(request.POST, items=ready)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        messages.error(request, f"Dispatch not recorded: {errors}")
        return redirect("console:return", rma)
    data = ReturnEventData(
        type="exchange_dispatched",
        units=[int(u) for u in form.cleaned_data["units"]],
        tracking_number=form.cleaned_data["tracking_number"],
    )
    return _event(request, rma, data, f"Exchange dispatched, AWB {data.tracking_number}.")


@console_view("returns.view_return")
@require_POST
def difference_collect(request, rma: str):
    if not may(request.user, "difference_collected"):
        return forbidden(request, "Recording a payment needs a supervisor or finance.")
    form = DifferenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the amount collected and how it was paid.")
        return redirect("console:return", rma)
    data = ReturnEventData(
        type="difference_collected",
        amount=form.cleaned_data["amount"],
        method=form.cleaned_data["method"],
    )
    return _event(request, rma, data, "Price difference recorded as collected.")


def _event(request, rma: str, data: ReturnEventData, ok: str):
    try:
        return_handle_event(rma=rma, data=data, actor=staff_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return redirect("console:return", rma)


# action → (title, button, form class, event kind or None for reject, permission check)
CONFIRM = {
    "cancel": (
        "Cancel this return",
        "Yes, cancel the return",
        CancelForm,
        "cancelled",
        "The units go back to the customer's order and any reserved exchange is released. "
        "The customer is emailed that nothing will be collected.",
    ),
    "convert-to-refund": (
        "Convert the exchange to a refund",
        "Yes, refund instead",
        ConvertForm,
        "convert_to_refund",
        "The reserved replacement is released and the units are refunded instead, without fees.",
    ),
    "convert-to-keep": (
        "Let the customer keep the items",
        "Yes, refund without pickup",
        ConvertForm,
        "convert_to_keep",
        "Units still waiting for pickup are refunded and not collected, within the policy's "
        "keep-it limit.",
    ),
    "reject": (
        "Reject this return",
        "Yes, reject the return",
        RejectForm,
        None,
        "The customer is emailed the message for the reason you choose, shown below. "
        "Your note stays on the record and is never sent.",
    ),
}


@console_view("returns.view_return")
def return_confirm(request, rma: str, action: str):
    """GET: the confirmation page with the reason; POST: do it."""
    if action not in CONFIRM:
        raise Http404("No such action.")
    title, button, form_class, kind, explain = CONFIRM[action]
    allowed = (
        request.user.has_perm("returns.review_return") if kind is None else may(request.user, kind)
    )
    if not allowed:
        return forbidden(request)
    return_request = _return_or_404(rma)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = staff_actor(request)
        try:
            if kind is None:
                return_reject(
                    rma=rma,
                    actor=actor,
                    note=form.cleaned_data["note"],
                    reason=form.cleaned_data["reason"],
                )
            else:
                return_handle_event(
                    rma=rma,
                    data=ReturnEventData(type=kind, reason=form.reason_text()),
                    actor=actor,
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Done: {title.lower()}.")
            return redirect("console:return", rma)
    return render(
        request,
        "console/confirm.html",
        {
            "return_request": return_request,
            "items": list(return_request.items.all()),
            "form": form,
            "title": title,
            "button": button,
            "explain": explain,
            "action": action,
            "customer_messages": [
                {"code": code, "label": label, "text": text}
                for code, (label, text) in REJECT_REASONS.items()
            ]
            if kind is None
            else None,
        },
    )
