"""The customer corrects the bank or UPI details of a refund payout the bank
returned; the same payout goes back to finance (no new refund). Shows the
details on file masked, never in full."""

from __future__ import annotations

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from flows.payouts import payout_details_update
from oms.errors import ApplicationError
from refunds.payout_selectors import payouts_for_return
from refunds.states import PayoutState
from returns.payout_details import payout_mask_text

from . import selectors
from .views import _actor, customer_required


class PayoutDetailsForm(forms.Form):
    upi_id = forms.CharField(
        label="UPI id", required=False, max_length=256, help_text="e.g. name@okhdfc"
    )
    account_name = forms.CharField(label="Account holder's name", required=False, max_length=100)
    account_number = forms.CharField(
        label="Account number",
        required=False,
        max_length=18,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    ifsc = forms.CharField(
        label="IFSC code", required=False, max_length=11, help_text="e.g. HDFC0001234"
    )

    def details(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v}


@customer_required
@require_http_methods(["GET", "POST"])
def payout_details(request, rma: str):
    return_request = selectors.customer_return(request.customer_id, rma, **request.portal_access)
    payouts = payouts_for_return(return_request)
    waiting = [p for p in payouts if p.state == PayoutState.FAILED]
    form = PayoutDetailsForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            payout_details_update(rma=return_request.rma, details=form.details(), actor=_actor())
        except ApplicationError as exc:
            error = exc.message
        else:
            return redirect(f"{reverse('portal:payout_details', args=[rma])}?saved=1")
    return render(
        request,
        "portal/payout_details.html",
        {
            "return_request": return_request,
            "form": form,
            "error": error,
            "payouts": [{"p": p, "to": payout_mask_text(p.details)} for p in payouts],
            "waiting": waiting,
            "on_file": payout_mask_text(return_request.payout_details),
            "saved": request.GET.get("saved") == "1",
        },
    )
