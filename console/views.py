"""Agent console pages: search, order, return, queues, dashboard. Views call
services and selectors; every state change is a POST with CSRF."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows import read, return_intake
from flows.return_events import return_handle_event
from flows.return_review import return_approve, return_reject
from inventory.models import Location
from oms.errors import ApplicationError, NotFound
from orders.selectors import order_get, order_status, order_timeline, payment_status
from orders.states import UnitState
from refunds.loyalty import order_loyalty
from refunds.selectors import order_ledger, refund_list, wallet_balance
from refunds.wallet import wallet_goodwill_for
from returns.selectors import return_get
from returns.services import QcResult, ReturnEventData
from returns.states import EventKind, ReturnState
from sla.selectors import return_legs

from . import selectors, services
from .access import console_view, forbidden, staff_actor
from .forms import (
    ConsoleLoginForm,
    ContactForm,
    GoodwillForm,
    QcForm,
    ReceivedForm,
    ReviewForm,
    RootCauseForm,
    SearchForm,
)


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = False


@require_POST
def logout(request):
    from django.contrib.auth import logout as auth_logout

    auth_logout(request)
    return redirect("console:login")


def _order_or_404(number: str):
    try:
        return order_get(number)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _return_or_404(rma: str):
    try:
        return return_get(rma)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


@console_view("orders.view_order")
def search(request):
    form = SearchForm(request.GET or None)
    results: list = []
    searched = False
    if form.is_valid():
        searched = True
        target, results = selectors.search(form.cleaned_data["q"])
        if target:
            kind, key = target.split(":", 1)
            return redirect(f"console:{kind}", key)
    return render(
        request, "console/search.html", {"form": form, "results": results, "searched": searched}
    )


@console_view("orders.view_order")
def order_detail(request, number: str):
    order = _order_or_404(number)
    units = list(order.units.all())
    lines = []
    by_line: dict = {}
    for unit in units:
        by_line.setdefault(unit.line_id, []).append(unit)
    for line in order.lines.all():
        lines.append({"line": line, "units": by_line.get(line.pk, [])})
    user = request.user
    ctx = {
        "order": order,
        "lines": lines,
        "status": order_status(units).replace("_", " "),
        "payment_status": payment_status(list(order.payments.all())).replace("_", " "),
        "timeline": order_timeline(order),
        "returns": order.returns.order_by("-created_at"),
        "refunds": refund_list(order=order.number)
        if user.has_perm("refunds.view_refund")
        else None,
        "ledger": order_ledger(order) if user.has_perm("orders.view_ledgerentry") else None,
        "contacts": order.contacts.select_related("user").order_by("-created_at"),
        "contact_form": ContactForm() if user.has_perm("orders.add_contactlog") else None,
        "can_create_return": user.has_perm("returns.add_return"),
        "loyalty": order_loyalty(order),
        "show_wallet": user.has_perm("refunds.view_wallet"),
        "wallet": wallet_balance(order.customer_id)
        if user.has_perm("refunds.view_wallet")
        else None,
        "goodwill_form": GoodwillForm()
        if user.has_perm("refunds.grant_goodwill_credit") and order.customer.email
        else None,
    }
    return render(request, "console/order.html", ctx)


@console_view("refunds.grant_goodwill_credit")
@require_POST
def goodwill_grant(request, number: str):
    """A supervisor's goodwill store credit to the order's customer."""
    order = _order_or_404(number)
    form = GoodwillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a positive amount and a reason for the goodwill credit.")
        return redirect("console:order", number)
    actor = staff_actor(request)
    try:
        entry = wallet_goodwill_for(
            customer=order.customer,
            currency=order.currency,
            actor=f"{actor.kind}:{actor.label}",
            **form.cleaned_data,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{entry.amount} {entry.currency} goodwill credit granted; "
            f"balance {entry.balance_after} {entry.currency}.",
        )
    return redirect("console:order", number)


@console_view("orders.add_contactlog")
@require_POST
def contact_add(request, number: str):
    order = _order_or_404(number)
    form = ContactForm(request.POST)
    if form.is_valid():
        services.contact_log_create(order=order, actor=staff_actor(request), **form.cleaned_data)
        messages.success(request, "Contact logged.")
    else:
        messages.error(request, "Describe the contact to log it.")
    return redirect("console:order", number)


@console_view("returns.view_return")
def return_detail(request, rma: str):
    return_request = _return_or_404(rma)
    user = request.user
    items = list(return_request.items.all())
    refunds = read.return_refunds(return_request)
    events = read.return_event_rows(return_request, refunds)
    can_event = user.has_perm("returns.record_return_event")
    can_inspect = user.has_perm("returns.inspect_return")
    ctx = {
        "return_request": return_request,
        "items": items,
        "legs": read.return_progress(return_request, events),
        "sla": sorted(return_legs(return_request), key=lambda leg: leg.pk),
        "events": events,
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
            (i, QcForm(prefix=f"u{i.unit_id}")) for i in items if i.unit.state == UnitState.RETURNED
        ]
        if can_inspect
        else [],
    }
    return render(request, "console/return.html", ctx)


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


@console_view("returns.review_return")
@require_POST
def return_reject_view(request, rma: str):
    note = ReviewForm(request.POST).data.get("note", "")[:500]
    return _done(
        request,
        rma,
        lambda: return_reject(rma=rma, actor=staff_actor(request), note=note),
        "Return rejected.",
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
        results = []
        for item in return_request.items.all():
            form = QcForm(request.POST, prefix=f"u{item.unit_id}")
            if f"u{item.unit_id}-passed" in request.POST and form.is_valid():
                results.append(QcResult(unit=item.unit_id, **form.cleaned_data))
        if not results:
            messages.error(request, "Record a result for at least one item.")
            return redirect("console:return", rma)
        data = ReturnEventData(type=kind, results=results)
    else:
        return forbidden(request, "This event cannot be recorded from the console.")
    return _done(
        request,
        rma,
        lambda: return_handle_event(rma=rma, data=data, actor=staff_actor(request)),
        "Event recorded.",
    )


@console_view("returns.view_return")
def queues(request):
    return render(
        request,
        "console/queues.html",
        {
            "review": selectors.queue_review(),
            "qc": selectors.queue_qc(),
            "sla": selectors.sla_queues(),
            "can_review": request.user.has_perm("returns.review_return"),
        },
    )


@console_view("returns.view_return")
def dashboard(request):
    return render(
        request,
        "console/dashboard.html",
        {
            "refunds": selectors.refunds_now(),
            "sla": selectors.sla_health(),
            "m": selectors.measures(),
        },
    )
