"""Agent console pages: search, order, return, queues, dashboard. Views call
services and selectors; every state change is a POST with CSRF."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows import read, return_intake
from flows.couriers import pickup_book_again
from flows.return_events import return_handle_event
from flows.return_review import return_approve
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

from . import analytics, queue, selectors, services
from .access import console_view, forbidden, staff_actor
from .actions import finish_context
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
from .timeline import qc_error_place, timeline_groups, timeline_rows, tz_label


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
    refunds = (
        list(refund_list(order=order.number)) if user.has_perm("refunds.view_refund") else None
    )
    ctx = {
        "order": order,
        "tenders": order_tenders(order, refunds),
        "lines": lines,
        "status": order_status(units).replace("_", " "),
        "payment_status": payment_status(list(order.payments.all())).replace("_", " "),
        "timeline": timeline_groups(
            order_timeline(order),
            {str(r.pk): r.return_request.rma for r in refunds or [] if r.return_request_id},
        ),
        "tz_label": tz_label(),
        "returns": order.returns.order_by("-created_at"),
        "refunds": refunds,
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


def order_tenders(order, refunds: list | None) -> list[dict]:
    """Each tender of the order with what was refunded to it, refund by
    refund (instrument, amount, state, reference); refunds only for those
    who may read them."""
    by_payment: dict[int, list] = {}
    for refund in refunds or []:
        for t in refund.tenders.all():
            by_payment.setdefault(t.payment_id, []).append(
                {"refund": refund, "tender": t, "how": t.instrument.replace("_", " ")}
            )
    return [
        {"payment": p, "refunds": by_payment.get(p.pk, [])}
        for p in order.payments.all().order_by("position")
    ]


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


@console_view("returns.view_return")
def queues(request):
    g = request.GET
    params = {
        k: g.get(k, "")
        for k in ("view", "leg", "type", "channel", "age", "sort")
        if g.get(k, "") != ""
    }
    view = params.get("view", "all")
    rows = queue.work_queue(user=request.user, **params)
    counts = queue.view_counts(request.user)
    for row in rows:
        row.left = queue.countdown(row.seconds_left)
    return render(
        request,
        "console/queues.html",
        {
            "rows": rows,
            "view": view,
            "params": params,
            "tabs": [(key, label, counts[key]) for key, label in queue.VIEWS],
            "choices": queue.filter_choices(),
            "agents": queue.console_agents(),
            "can_assign": request.user.has_perm("returns.view_return"),
            "review": selectors.queue_review(),
            "qc": selectors.queue_qc(),
            "pickups": selectors.queue_pickup_not_booked(),
            "can_review": request.user.has_perm("returns.review_return"),
            "query": request.GET.urlencode(),
        },
    )


@console_view("returns.view_return")
@require_POST
def return_assign(request, rma: str):
    from django.utils.http import url_has_allowed_host_and_scheme

    # "Assign to me" is a button in the same form as the agent list.
    chosen = request.POST.getlist("assignee")
    who = "me" if "me" in chosen else (chosen[-1] if chosen else "")
    if who == "me":
        assignee = request.user
    elif who == "":
        assignee = None
    else:
        assignee = queue.console_agents().filter(pk=int(who) if who.isdigit() else 0).first()
        if assignee is None:
            messages.error(request, "Choose an agent from the list.")
            return redirect("console:return", rma)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = ""
    try:
        services.return_assign(rma=rma, assignee=assignee, actor=staff_actor(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{rma} assigned to {assignee.get_username() if assignee else 'nobody'}."
        )
    return redirect(nxt or "console:return", *([] if nxt else [rma]))


@console_view("returns.view_return")
def dashboard(request):
    return render(
        request,
        "console/dashboard.html",
        {
            "refunds": selectors.refunds_now(),
            "sla": selectors.sla_health(),
            "m": selectors.measures(),
            "cycle": analytics.cycle_times(),
            "fcr": analytics.first_contact_resolution(),
            "accuracy": analytics.inventory_accuracy(),
            "by_tender": analytics.refunds_by_tender_day()
            if request.user.has_perm("refunds.view_refund")
            else None,
        },
    )


@console_view("refunds.view_refund")
def refunds_csv(request):
    import csv

    from django.http import HttpResponse

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="refunds-by-tender-and-day.csv"'
    writer = csv.writer(response)
    for row in analytics.refunds_csv_rows():
        writer.writerow(row)
    return response
