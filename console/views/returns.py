"""Console return page and its actions: approve, book pickup, modify, root
cause, events and QC. Each change is a POST with CSRF."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows import read, return_intake
from flows.couriers import pickup_book_again
from flows.return_events import return_handle_event
from flows.return_review import return_approve
from inventory.models import Location
from oms.errors import ApplicationError
from orders.states import UnitState
from returns.services import QcResult, ReturnEventData
from returns.states import EventKind, ReturnState
from sla.selectors import return_legs

from .. import queue, services
from ..access import console_view, forbidden, staff_actor
from ..actions import finish_context
from ..forms import (
    QcForm,
    ReceivedForm,
    ReviewForm,
    RootCauseForm,
)
from ..timeline import qc_error_place, timeline_rows, tz_label
from .common import _return_or_404


@console_view("returns.view_return")
def return_detail(request, rma: str):
    return _return_page(request, _return_or_404(rma))


def _return_page(request, return_request, *, qc_forms: dict | None = None, status: int = 200):
    """The return page; ``qc_forms`` (unit id → bound QcForm) re-shows a QC
    entry that was refused, with its error next to the unit."""
    user = request.user
    items = list(return_request.items.all())
    refunds = read.return_refunds(return_request)
    events = read.return_event_rows(return_request, refunds)
    can_event = user.has_perm("returns.record_return_event")
    can_inspect = user.has_perm("returns.inspect_return")
    qc_forms = qc_forms or {}
    ctx = {
        "return_request": return_request,
        "items": items,
        "legs": read.return_progress(return_request, events),
        "sla": sorted(return_legs(return_request), key=lambda leg: leg.pk),
        "events": timeline_rows(events, return_request, refunds),
        "tz_label": tz_label(),
        "agents": queue.console_agents(),
        "refunds": refunds,
        "photos": return_request.photos.select_related("unit"),
        "can_review": user.has_perm("returns.review_return")
        and return_request.state == ReturnState.PENDING_REVIEW,
        "review_form": ReviewForm(),
        "root_cause_form": RootCauseForm(initial={"root_cause": return_request.root_cause})
        if user.has_perm("returns.add_return")
        else None,
        "can_event": can_event,
        "pickup_pending": can_event
        and return_request.state == ReturnState.APPROVED
        and any(i.unit.state == UnitState.RETURN_REQUESTED for i in items),
        "receive_form": ReceivedForm(
            initial={"location": return_request.location.code if return_request.location else None},
            locations=Location.objects.order_by("code"),
        )
        if can_inspect and any(i.unit.state in (UnitState.RETURN_IN_TRANSIT,) for i in items)
        else None,
        "qc_items": [
            (i, qc_forms.get(i.unit_id) or QcForm(prefix=f"u{i.unit_id}"))
            for i in items
            if i.unit.state == UnitState.RETURNED
        ]
        if can_inspect
        else [],
        "qc_error": any(f.errors for f in qc_forms.values()),
        **finish_context(user, return_request, items),
    }
    return render(request, "console/return.html", ctx, status=status)


def _done(request, rma: str, fn, ok: str):
    try:
        fn()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ok)
    return redirect("console:return", rma)


@console_view("returns.review_return")
@require_POST
def return_approve_view(request, rma: str):
    note = ReviewForm(request.POST).data.get("note", "")[:500]
    return _done(
        request,
        rma,
        lambda: return_approve(rma=rma, actor=staff_actor(request), note=note),
        "Return approved.",
    )


@console_view("returns.record_return_event")
@require_POST
def return_book_pickup(request, rma: str):
    """A pickup the courier did not book: queue the booking again."""
    return _done(
        request,
        rma,
        lambda: pickup_book_again(rma=rma, actor=staff_actor(request)),
        "Booking the pickup again.",
    )


@console_view("returns.review_return")
@require_POST
def return_modify(request, rma: str):
    keep = [int(u) for u in request.POST.getlist("keep") if u.isdigit()]
    try:
        new = return_intake.return_modify_lines(
            rma=rma, keep_units=keep, actor=staff_actor(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("console:return", rma)
    messages.success(request, f"{rma} cancelled and replaced by {new.rma} with fewer lines.")
    return redirect("console:return", new.rma)


@console_view("returns.add_return")
@require_POST
def return_root_cause(request, rma: str):
    form = RootCauseForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a root cause.")
        return redirect("console:return", rma)
    return _done(
        request,
        rma,
        lambda: services.return_set_root_cause(
            rma=rma, root_cause=form.cleaned_data["root_cause"], actor=staff_actor(request)
        ),
        "Root cause saved.",
    )


@console_view("returns.record_return_event")
@require_POST
def return_event(request, rma: str):
    return_request = _return_or_404(rma)
    kind = request.POST.get("type")
    if kind in (EventKind.RECEIVED, EventKind.QC_RESULT) and not request.user.has_perm(
        "returns.inspect_return"
    ):
        return forbidden(request, "Receipt and QC are recorded by the warehouse.")
    if kind == EventKind.PICKUP_COMPLETED:
        data = ReturnEventData(type=kind)
    elif kind == EventKind.RECEIVED:
        form = ReceivedForm(request.POST, locations=Location.objects.all())
        if not form.is_valid():
            messages.error(request, "Choose where it was received.")
            return redirect("console:return", rma)
        data = ReturnEventData(type=kind, location=form.cleaned_data["location"])
    elif kind == EventKind.QC_RESULT:
        return _qc_record(request, return_request)
    else:
        return forbidden(request, "This event cannot be recorded from the console.")
    return _done(
        request,
        rma,
        lambda: return_handle_event(rma=rma, data=data, actor=staff_actor(request)),
        "Event recorded.",
    )


def _qc_record(request, return_request):
    """Record the units given a result; a refused entry comes back with the
    error next to its unit and everything entered kept (status 400)."""
    rma = return_request.rma
    forms = {
        i.unit_id: QcForm(request.POST, prefix=f"u{i.unit_id}")
        for i in return_request.items.all()
        if i.unit.state == UnitState.RETURNED
    }
    chosen = [
        (uid, f)
        for uid, f in forms.items()
        if f.is_valid() and f.cleaned_data["passed"] is not None
    ]
    if not chosen:
        for f in forms.values():
            if not f.errors:
                f.add_error("passed", "Choose passed or failed for at least one item.")
        return _return_page(request, return_request, qc_forms=forms, status=400)
    results = [QcResult(unit=uid, **f.cleaned_data) for uid, f in chosen]
    try:
        return_handle_event(
            rma=rma,
            data=ReturnEventData(type=EventKind.QC_RESULT, results=results),
            actor=staff_actor(request),
        )
    except ApplicationError as exc:
        uid, field, message = qc_error_place(exc, [uid for uid, _ in chosen])
        target = forms.get(uid)
        if target is None:
            messages.error(request, message)
        else:
            target.add_error(field if field in target.fields else None, message)
        return _return_page(request, return_request, qc_forms=forms, status=400)
    messages.success(request, "QC result recorded.")
    return redirect("console:return", rma)
