"""Finance's payouts page: the worklist by state, the bank file and the daily
export to download, and per payout "paid" (UTR) or "returned by the bank"
(reason). Full bank details: the page needs ``refunds.view_payout``
(finance); acting needs ``refunds.change_payout``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from flows.payouts import payout_failed, payout_paid
from oms.dates import local_day
from oms.errors import ApplicationError
from refunds.payout_selectors import payout_list, payout_mode
from refunds.states import PayoutState

from .access import console_view, staff_actor


class PayoutFilterForm(forms.Form):
    state = forms.ChoiceField(label="Show payouts", choices=PayoutState.choices, required=False)


class PaidForm(forms.Form):
    utr = forms.CharField(
        label="Bank reference (UTR)",
        max_length=40,
        help_text="12-digit IMPS/UPI RRN, or the 16/22-character NEFT/RTGS UTR.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class FailedForm(forms.Form):
    reason = forms.CharField(
        label="Why the bank returned it",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. account closed"}),
    )


class ExportForm(forms.Form):
    date = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))


@console_view("refunds.view_payout")
def payouts(request):
    form = PayoutFilterForm(request.GET or None)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    state = state or PayoutState.PENDING
    page = Paginator(payout_list(state=state), 50).get_page(request.GET.get("page"))
    for payout in page.object_list:
        payout.mode = payout_mode(payout)
        payout.paid_form = PaidForm(auto_id=f"id_paid_{payout.pk}_%s")
        payout.failed_form = FailedForm(auto_id=f"id_failed_{payout.pk}_%s")
    return render(
        request,
        "console/payouts.html",
        {
            "form": PayoutFilterForm(initial={"state": state}),
            "state": state,
            "page": page,
            "export_form": ExportForm(initial={"date": local_day(timezone.now())}),
            "can_act": request.user.has_perm("refunds.change_payout"),
        },
    )


def _back(request):
    return redirect(f"{reverse('console:payouts')}?state={PayoutState.PENDING}")


@require_POST
@console_view("refunds.change_payout")
def payout_paid_view(request, payout_id: int):
    form = PaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the bank reference (UTR).")
        return _back(request)
    try:
        payout = payout_paid(
            payout_id=payout_id, utr=form.cleaned_data["utr"], actor=staff_actor(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Payout {payout.reference} paid, UTR {payout.utr}.")
    return _back(request)


@require_POST
@console_view("refunds.change_payout")
def payout_failed_view(request, payout_id: int):
    form = FailedForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the bank returned it.")
        return _back(request)
    try:
        payout = payout_failed(
            payout_id=payout_id, reason=form.cleaned_data["reason"], actor=staff_actor(request)
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Payout {payout.reference} marked returned; the customer is asked to correct it.",
        )
    return _back(request)
