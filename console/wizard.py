"""The soft-return wizard, a decision tree: classify the case → eligibility
(only a supervisor can override it) → refund or exchange → review against the
escalation threshold → create. It calls the same services as the API."""

from __future__ import annotations

import re

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from flows.return_intake import return_create, return_quote
from oms.errors import ApplicationError
from orders.models import Unit
from returns.models import ReturnReason
from returns.selectors import exchange_variants, refund_methods_for
from returns.services import ItemRequest, ReturnRequest, policy_current
from returns.states import RefundMethod, Resolution

from .access import console_view, forbidden, staff_actor
from .forms import CASE_REASONS, CASES, ClassifyForm, EligibilityForm, ResolutionForm
from .views import _order_or_404

STEPS = [
    ("classify", "Classify"),
    ("eligibility", "Eligibility"),
    ("resolution", "Refund or exchange"),
    ("review", "Review and create"),
]


def _data(request):
    return request.POST if request.method == "POST" else None


def _key(number: str) -> str:
    return f"console-wizard:{number}"


def _units(order, ids) -> list[Unit]:
    return list(
        Unit.objects.filter(order=order, pk__in=[int(i) for i in ids])
        .select_related("sku", "line")
        .order_by("line__position", "index")
    )


def _request(number: str, state: dict, *, units=None, override=False) -> ReturnRequest:
    items = state.get("items") or {}
    default_reason = CASE_REASONS[state["case"]][0]
    return ReturnRequest(
        order=number,
        refund_method=state.get("refund_method") or RefundMethod.ORIGINAL,
        payout=state.get("payout") or {},
        channel="console",
        override_eligibility=override,
        items=[
            ItemRequest(
                unit=int(uid),
                reason=items.get(str(uid), {}).get("reason", default_reason),
                resolution=items.get(str(uid), {}).get("resolution", Resolution.REFUND),
                exchange_sku=items.get(str(uid), {}).get("exchange") or None,
            )
            for uid in (units if units is not None else state["units"])
        ],
    )


def _eligibility(number: str, state: dict) -> dict[int, str]:
    """Unit id → why it is not eligible (empty for eligible ones). Money
    choices are not made yet, so a store-credit refund stands in."""
    out = {}
    for uid in state["units"]:
        probe = {**state, "refund_method": RefundMethod.STORE_CREDIT, "items": {}}
        try:
            return_quote(_request(number, probe, units=[uid]))
            out[int(uid)] = ""
        except ApplicationError as exc:
            out[int(uid)] = human_error(exc.message)
    return out


def _override_cannot_help(number: str, state: dict, blocked: dict[int, str]) -> list[str]:
    """The blocked units an override would not unblock (already in a return,
    not delivered): the policy's window and returnable list can be overridden,
    nothing else."""
    out = []
    for uid in blocked:
        probe = {**state, "refund_method": RefundMethod.STORE_CREDIT, "items": {}}
        try:
            return_quote(_request(number, probe, units=[uid], override=True))
        except ApplicationError as exc:
            out.append(f"unit #{uid}: {human_error(exc.message)}")
    return out


def human_error(message: str) -> str:
    """'items[0].unit: unit 7 is …' → 'Unit 7 is …' (the API's field path is
    for machines)."""
    text = re.sub(r"^items\[\d+\](\.\w+)?: ", "", message)
    return text[:1].upper() + text[1:]


@console_view("returns.add_return")
def wizard(request, number: str):
    order = _order_or_404(number)
    step = request.GET.get("step", "classify")
    state = request.session.get(_key(number)) or {}
    if step != "classify" and not state.get("units"):
        return redirect(f"{reverse('console:wizard', args=[number])}?step=classify")
    if step in ("resolution", "review") and "eligible" not in state:
        step = "eligibility"
    ctx = {"order": order, "step": step, "steps": STEPS, "state": state}
    done = [s for s, _ in STEPS][: [s for s, _ in STEPS].index(step)] if step in dict(STEPS) else []
    ctx["done"] = done
    handler = {
        "classify": _classify,
        "eligibility": _eligible,
        "resolution": _resolution,
        "review": _review,
    }.get(step)
    if handler is None:
        return redirect(f"{reverse('console:wizard', args=[number])}?step=classify")
    return handler(request, order, state, ctx)


def _go(number: str, step: str):
    return redirect(f"{reverse('console:wizard', args=[number])}?step={step}")


def _save(request, number: str, state: dict) -> None:
    request.session[_key(number)] = state
    request.session.modified = True


def _classify(request, order, state, ctx):
    units = (
        Unit.objects.filter(order=order, line__replacement_for__isnull=True)
        .select_related("sku")
        .order_by("line__position", "index")
    )
    choices = [(str(u.pk), f"{u.sku.name} · {u.sku.code} · {u.get_state_display()}") for u in units]
    form = ClassifyForm(
        _data(request),
        unit_choices=choices,
        initial={"case": state.get("case"), "units": state.get("units")},
    )
    if request.method == "POST" and form.is_valid():
        _save(
            request,
            order.number,
            {"case": form.cleaned_data["case"], "units": form.cleaned_data["units"]},
        )
        return _go(order.number, "eligibility")
    ctx.update({"form": form, "cases": CASES})
    return render(request, "console/wizard.html", ctx)


def _eligible(request, order, state, ctx):
    why = _eligibility(order.number, state)
    blocked = {uid: reason for uid, reason in why.items() if reason}
    can_override = request.user.has_perm("returns.override_eligibility")
    form = EligibilityForm(_data(request))
    if request.method == "POST" and form.is_valid():
        override = form.cleaned_data["override"]
        if override and not can_override:
            return forbidden(request, "Overriding eligibility needs a supervisor.")
        if blocked and override:
            hopeless = _override_cannot_help(order.number, state, blocked)
            if hopeless:
                form.add_error(
                    "override",
                    "An override cannot make these items eligible: " + "; ".join(hopeless),
                )
            elif not form.cleaned_data["override_note"].strip():
                form.add_error("override_note", "Say why you override the policy.")
            else:
                state.update(
                    override=True,
                    override_note=form.cleaned_data["override_note"].strip(),
                    eligible=True,
                )
                _save(request, order.number, state)
                return _go(order.number, "resolution")
        elif blocked and form.cleaned_data["drop_ineligible"]:
            left = [u for u in state["units"] if int(u) not in blocked]
            if left:
                state.update(units=left, override=False, eligible=True)
                _save(request, order.number, state)
                return _go(order.number, "resolution")
            form.add_error(None, "No eligible items are left.")
        elif not blocked:
            state.update(override=False, eligible=True)
            _save(request, order.number, state)
            return _go(order.number, "resolution")
        else:
            form.add_error(
                None,
                "Some items are not eligible: remove them"
                + (" or override the policy." if can_override else ", or ask a supervisor."),
            )
    units = _units(order, state["units"])
    ctx.update(
        {
            "form": form,
            "rows": [(u, why.get(u.pk, "")) for u in units],
            "blocked": blocked,
            "can_override": can_override,
        }
    )
    return render(request, "console/wizard.html", ctx)


def _resolution(request, order, state, ctx):
    units = _units(order, state["units"])
    codes = CASE_REASONS[state["case"]]
    labels = dict(ReturnReason.objects.filter(code__in=codes).values_list("code", "label"))
    items = state.get("items") or {}
    initial = {**(state.get("payout") or {})}
    if state.get("refund_method"):
        initial["refund_method"] = state["refund_method"]
    for u in units:
        saved = items.get(str(u.pk), {})
        initial[f"reason_{u.pk}"] = saved.get("reason")
        initial[f"resolution_{u.pk}"] = saved.get("resolution", "refund")
        initial[f"exchange_{u.pk}"] = saved.get("exchange")
    form = ResolutionForm(
        _data(request),
        initial=initial,
        units=units,
        reasons=[(c, labels.get(c, c)) for c in codes],
        variants=exchange_variants(order, units),
        refund_methods=refund_methods_for(order),
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        state["items"] = {
            str(u.pk): {
                "reason": d[f"reason_{u.pk}"],
                "resolution": d[f"resolution_{u.pk}"],
                "exchange": d.get(f"exchange_{u.pk}")
                if d[f"resolution_{u.pk}"] == Resolution.EXCHANGE
                else "",
            }
            for u in units
        }
        state["refund_method"] = d["refund_method"]
        state["payout"] = {
            k: d[k].strip()
            for k in ("upi_id", "account_name", "account_number", "ifsc")
            if d.get(k)
        }
        _save(request, order.number, state)
        return _go(order.number, "review")
    ctx.update({"form": form})
    return render(request, "console/wizard.html", ctx)


def _review(request, order, state, ctx):
    if "items" not in state:
        return _go(order.number, "resolution")
    override = bool(state.get("override"))
    if override and not request.user.has_perm("returns.override_eligibility"):
        return forbidden(request, "Overriding eligibility needs a supervisor.")
    req = _request(order.number, state, override=override)
    if request.method == "POST":
        try:
            return_request = return_create(req, actor=staff_actor(request))
        except ApplicationError as exc:
            messages.error(request, human_error(exc.message))
        else:
            request.session.pop(_key(order.number), None)
            messages.success(
                request,
                f"Return {return_request.rma} created"
                + (
                    " and held for supervisor review."
                    if return_request.state == "pending_review"
                    else "."
                ),
            )
            return redirect("console:return", return_request.rma)
    try:
        quote = return_quote(req)
        error = ""
    except ApplicationError as exc:
        quote, error = None, human_error(exc.message)
    units = _units(order, state["units"])
    reasons = dict(ReturnReason.objects.values_list("code", "label"))
    lines = []
    for item in req.items:
        unit = next(u for u in units if u.pk == item.unit)
        lines.append(
            {
                "unit": unit,
                "reason": reasons.get(item.reason, item.reason),
                "resolution": Resolution(item.resolution).label,
                "exchange": item.exchange_sku or "",
                "amount": unit.net_paid,
            }
        )
    ctx.update(
        {
            "lines": lines,
            "quote": quote,
            "error": error,
            "threshold": policy_current().risk_threshold,
            "units": units,
            "override": override,
        }
    )
    return render(request, "console/wizard.html", ctx)
