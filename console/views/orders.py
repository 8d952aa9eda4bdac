"""Console order pages: search, the order page, goodwill credit, contacts."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from oms.errors import ApplicationError
from orders.selectors import order_status, order_timeline, payment_status
from refunds.loyalty import order_loyalty
from refunds.selectors import order_ledger, refund_list, wallet_balance
from refunds.wallet import wallet_goodwill_for

from .. import selectors, services
from ..access import console_view, staff_actor
from ..forms import (
    ContactForm,
    GoodwillForm,
    SearchForm,
)
from ..timeline import timeline_groups, tz_label
from .common import _order_or_404


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
