"""The recoveries page: amounts customers owe back, for finance and CX.
Recording a payment and writing off call the same use cases as the API."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flows.recoveries import recovery_collect, recovery_write_off
from oms.errors import ApplicationError
from refunds.selectors import recovery_list
from refunds.states import RecoveryState

from .access import console_view, staff_actor


class StateFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="Show", required=False, choices=[("", "All"), *RecoveryState.choices]
    )


class CollectedForm(forms.Form):
    reference = forms.CharField(label="Payment reference", max_length=150)


class WriteOffForm(forms.Form):
    reason = forms.CharField(
        label="Reason for writing off", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


@console_view("refunds.view_recovery")
def recoveries(request):
    form = StateFilterForm(request.GET or {"state": RecoveryState.OPEN})
    state = form.cleaned_data["state"] if form.is_valid() else RecoveryState.OPEN
    page = Paginator(recovery_list(state=state or None), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "console/recoveries.html",
        {
            "form": form,
            "state": state,
            "page": page,
            "can_collect": request.user.has_perm("refunds.change_recovery"),
            "can_write_off": request.user.has_perm("refunds.write_off_recovery"),
        },
    )


def _act(request, call, done: str):
    try:
        call()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("console:recoveries")


@console_view("refunds.change_recovery")
@require_POST
def recovery_collected(request, recovery_id: int):
    form = CollectedForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the payment's reference.")
        return redirect("console:recoveries")
    return _act(
        request,
        lambda: recovery_collect(
            recovery_id=recovery_id,
            reference=form.cleaned_data["reference"],
            actor=staff_actor(request),
        ),
        f"Recovery {recovery_id} recorded as collected.",
    )


@console_view("refunds.write_off_recovery")
@require_POST
def recovery_written_off(request, recovery_id: int):
    form = WriteOffForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why it is written off.")
        return redirect("console:recoveries")
    return _act(
        request,
        lambda: recovery_write_off(
            recovery_id=recovery_id,
            reason=form.cleaned_data["reason"],
            actor=staff_actor(request),
        ),
        f"Recovery {recovery_id} written off.",
    )
