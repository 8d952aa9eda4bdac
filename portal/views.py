"""Customer return portal: look up an order, verify by a one-time code, then
return or exchange units and follow the return. Views call services and
selectors only."""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from flows.courier_tracking import return_label_pdf
from flows.read import quote_dates, return_event_rows, return_progress, return_refunds
from flows.return_events import return_handle_event
from flows.return_intake import return_create, return_quote
from oms.clientip import client_ip
from oms.errors import ApplicationError
from orders.events import EventActor
from orders.states import Actor, UnitState
from returns.selectors import exchange_variants, refund_methods_for
from returns.services import ReturnEventData, policy_current
from returns.states import Resolution, ReturnState

from . import selectors, services
from .forms import CodeForm, LookupForm, ReturnForm

SESSION_CUSTOMER = "portal_customer"
SESSION_CONTACT = "portal_contact"  # the email address the code was sent to
SESSION_ORDER = "portal_order"  # the order the code was for
SESSION_PENDING = "portal_pending"
SESSION_AGE = 60 * 60


def _ip(request) -> str:
    return client_ip(request)


def customer_required(view):
    """Only a customer who entered a valid code gets in. A page redirects to
    the lookup; an action (POST, htmx) is refused with 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        customer_id = request.session.get(SESSION_CUSTOMER)
        contact = request.session.get(SESSION_CONTACT)
        if not customer_id or not contact:
            if request.method != "GET" or request.htmx:
                return HttpResponseForbidden(
                    render(request, "portal/403.html").content, content_type="text/html"
                )
            return redirect(f"{reverse('portal:lookup')}?next={request.path}")
        request.customer_id = customer_id
        request.portal_access = {
            "contact": contact,
            "order_id": request.session.get(SESSION_ORDER),
        }
        return view(request, *args, **kwargs)

    return wrapped


def _actor() -> EventActor:
    return EventActor(Actor.CUSTOMER, None, "customer (portal)")


@require_http_methods(["GET", "POST"])
def lookup(request):
    form = LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["order_number"].strip()
        if not services.lookup_allowed(ip=_ip(request), order_number=number):
            return render(request, "portal/429.html", status=429)
        verification = services.verification_start(
            order_number=number, contact=form.cleaned_data["contact"]
        )
        # Same answer whether or not the order exists: no enumeration.
        request.session[SESSION_PENDING] = verification.pk if verification else 0
        return redirect("portal:verify")
    return render(request, "portal/lookup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def verify(request):
    if SESSION_PENDING not in request.session:
        return redirect("portal:lookup")
    form = CodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if not services.code_try_allowed(ip=_ip(request)):
            return render(request, "portal/429.html", status=429)
        verification = services.verification_check(
            verification_id=request.session.get(SESSION_PENDING), code=form.cleaned_data["code"]
        )
        if verification is not None:
            request.session.cycle_key()
            request.session[SESSION_CUSTOMER] = verification.customer_id
            request.session[SESSION_CONTACT] = services.code_address(verification.order)
            request.session[SESSION_ORDER] = verification.order_id
            request.session.pop(SESSION_PENDING, None)
            request.session.set_expiry(SESSION_AGE)
            return redirect("portal:order", number=verification.order.number)
        error = "That code is not right or has expired. Check the email, or ask for a new code."
    return render(request, "portal/verify.html", {"form": form, "error": error})


@require_POST
def sign_out(request):
    for key in (SESSION_CUSTOMER, SESSION_CONTACT, SESSION_ORDER, SESSION_PENDING):
        request.session.pop(key, None)
    return redirect("portal:lookup")


@customer_required
def orders(request):
    return render(
        request,
        "portal/orders.html",
        {"orders": selectors.customer_orders(request.customer_id, **request.portal_access)},
    )


@customer_required
def order(request, number: str):
    order = selectors.customer_order(request.customer_id, number, **request.portal_access)
    units = selectors.order_units(order)
    return render(
        request,
        "portal/order.html",
        {
            "order": order,
            "units": units,
            "any_returnable": any(u["returnable"] for u in units),
            "returns": [
                {
                    "r": r,
                    "title": selectors.return_title(r, r.items.all()),
                    "state": selectors.CUSTOMER_STATE.get(r.state, ""),
                }
                for r in order.returns.order_by("-created_at").prefetch_related("items")
            ],
        },
    )


def _return_form(request, order, *, data=None, files=None, for_quote=False, initial=None):
    rows = selectors.order_units(order)
    units = [r["unit"] for r in rows if r["returnable"]]
    return ReturnForm(
        data,
        files,
        initial=initial,
        units=units,
        reasons=selectors.reasons_active(),
        variants=exchange_variants(order, units),
        refund_methods=refund_methods_for(order),
        for_quote=for_quote,
    ), rows


@customer_required
@require_http_methods(["GET", "POST"])
def return_new(request, number: str):
    order = selectors.customer_order(request.customer_id, number, **request.portal_access)
    everything = request.GET.get("all") == "1" or request.POST.get("all") == "1"
    initial = None
    if request.method == "GET" and everything:
        initial = {f"unit_{u.pk}": True for u in order.units.all()}
    form, rows = _return_form(
        request,
        order,
        data=request.POST if request.method == "POST" else None,
        files=request.FILES if request.method == "POST" else None,
        initial=initial,
    )
    error = ""
    held: dict = {}
    if request.method == "POST":
        valid = form.is_valid()
        if valid:
            try:
                with transaction.atomic():
                    return_request = return_create(form.to_request(order.number), actor=_actor())
                    services.photos_store(return_request=return_request, photos=form.photos)
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect(f"{reverse('portal:return', args=[return_request.rma])}?new=1")
        # An error: the photos already checked are kept for the next try.
        held = services.photos_hold(form.photos)
    return render(
        request,
        "portal/return_form.html",
        {
            "order": order,
            "form": form,
            "rows": rows,
            "everything": everything,
            "error": error,
            "held": held,
            "unit_rows": list(form.unit_rows(held)),
            "summary": form.error_summary() if form.is_bound else [],
            "defect_codes": form.defect_codes,
        },
    )


@customer_required
@require_POST
def quote(request, number: str):
    order = selectors.customer_order(request.customer_id, number, **request.portal_access)
    form, _ = _return_form(request, order, data=request.POST, for_quote=True)
    ctx = {"order": order}
    if not form.is_valid():
        ctx["hint"] = (
            "Choose the items, a reason for each and, for an exchange, the variant you want, "
            "to see your refund."
        )
        return render(request, "portal/_quote.html", ctx)
    req = form.to_request(order.number)
    try:
        q = return_quote(req)
    except ApplicationError as exc:
        ctx["error"] = exc.message
        return render(request, "portal/_quote.html", ctx)
    policy = policy_current()
    has_exchange = any(i.resolution == Resolution.EXCHANGE for i in req.items)
    stock = {code: avail for rows in form.variants.values() for code, _, avail in rows}
    names = {code: label for rows in form.variants.values() for code, label, _ in rows}
    ctx.update(
        {
            "quote": q,
            "b": q["breakdown"],
            "dates": quote_dates(policy, return_type=q["type"], channel=req.channel),
            "has_exchange": has_exchange,
            "exchanges": [
                {
                    "sku": names.get(i.exchange_sku, i.exchange_sku),
                    "available": stock.get(i.exchange_sku, 0),
                }
                for i in req.items
                if i.resolution == Resolution.EXCHANGE
            ],
        }
    )
    return render(request, "portal/_quote.html", ctx)


def _items(return_request):
    items = list(return_request.items.select_related("unit__sku", "reason", "exchange_sku"))
    for item in items:
        item.words = selectors.unit_words(item.unit.state)
        item.asked = selectors.CUSTOMER_RESOLUTION.get(item.resolution, item.resolution)
    return items


def _cancellable(return_request, items) -> bool:
    return return_request.state in (ReturnState.APPROVED, ReturnState.PENDING_REVIEW) and all(
        i.unit.state == UnitState.RETURN_REQUESTED and not i.dispatched for i in items
    )


@customer_required
def return_status(request, rma: str):
    return_request = selectors.customer_return(request.customer_id, rma, **request.portal_access)
    items = _items(return_request)
    refunds = return_refunds(return_request)
    events = return_event_rows(return_request, refunds)
    return render(
        request,
        "portal/return_status.html",
        {
            "return_request": return_request,
            "title": selectors.return_title(return_request, items),
            "state_words": selectors.CUSTOMER_STATE.get(return_request.state, ""),
            "items": items,
            "refunds": refunds,
            "legs": return_progress(return_request, events),
            "new": request.GET.get("new") == "1",
            "estimate": return_request.estimate or {},
            "refund": selectors.refund_status(return_request, refunds),
            "photos": return_request.photos.all(),
            "can_cancel": _cancellable(return_request, items),
        },
    )


@customer_required
@require_http_methods(["GET", "POST"])
def return_cancel(request, rma: str):
    """Cancel before pickup: a confirmation page, then the same event as the
    API's ``cancelled``."""
    return_request = selectors.customer_return(request.customer_id, rma, **request.portal_access)
    items = _items(return_request)
    error = ""
    if not _cancellable(return_request, items):
        error = "This return can no longer be cancelled: the courier has already collected it."
    elif request.method == "POST":
        try:
            return_handle_event(
                rma=rma,
                data=ReturnEventData(type="cancelled", reason="Cancelled by the customer"),
                actor=_actor(),
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            return redirect(f"{reverse('portal:return', args=[rma])}?cancelled=1")
    return render(
        request,
        "portal/return_cancel.html",
        {
            "return_request": return_request,
            "title": selectors.return_title(return_request, items),
            "items": items,
            "error": error,
        },
        status=409 if error and request.method == "POST" else 200,
    )


@customer_required
def return_label(request, rma: str):
    """The printable label (RMA barcode, address, units) for a return the
    courier cannot collect: the customer posts it or drops it at a store."""
    return_request = selectors.customer_return(request.customer_id, rma, **request.portal_access)
    policy = return_request.policy
    if return_request.pickup_status != "unserviceable" or not (
        policy.self_ship_allowed or policy.store_drop_allowed
    ):
        raise Http404("This return is collected by the courier; it needs no label.")
    response = HttpResponse(return_label_pdf(return_request), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="return-label-{rma}.pdf"'
    return response
