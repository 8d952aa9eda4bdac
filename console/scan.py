"""Scan to receive: the warehouse's one-field screen. A USB scanner types an
RMA or an AWB and presses Enter; the return is found, its units still on the
way are received at the user's receiving location (kept in the session,
default the default warehouse), and the QC screen opens.

Receipt goes through ``flows.return_events.return_handle_event`` like the
events API; the RMA is the idempotency key of nothing here, but receiving an
already received return changes nothing and just opens QC."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render

from flows.return_events import return_handle_event
from inventory.models import Location
from oms.errors import ApplicationError
from orders.models import Shipment, TimelineEvent
from orders.states import UnitState
from returns.models import Return
from returns.services import ReturnEventData
from returns.states import OPEN_STATES

from .access import console_view, staff_actor

SESSION_LOCATION = "console_receiving_location"
ON_THE_WAY = (UnitState.RETURN_REQUESTED, UnitState.RETURN_IN_TRANSIT)


class ScanForm(forms.Form):
    """The input is rendered empty after an error: the next scan starts clean."""

    code = forms.CharField(
        label="Scan or type the RMA or AWB, then Enter",
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "spellcheck": "false",
                "inputmode": "text",
            }
        ),
        error_messages={"required": "Scan a label first."},
    )


class LocationForm(forms.Form):
    location = forms.ChoiceField(label="Receiving at")

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["location"].choices = list(
            Location.objects.order_by("-is_default", "name").values_list("code", "name")
        )


def find_return(code: str) -> Return | None:
    """By RMA; else by an AWB: the return's own label (a timeline payload's
    ``awb`` / ``tracking_number``) or the forward shipment a refused
    delivery rides back on."""
    code = code.strip()
    if not code:
        return None
    found = Return.objects.filter(rma__iexact=code).first()
    if found:
        return found
    rma = (
        TimelineEvent.objects.filter(entity="return")
        .filter(Q(payload__awb=code) | Q(payload__tracking_number=code))
        .order_by("-occurred_at")
        .values_list("entity_id", flat=True)
        .first()
    )
    if rma:
        return Return.objects.filter(rma=rma).first()
    shipment = Shipment.objects.filter(tracking_number__iexact=code).order_by("-pk").first()
    if shipment is None:
        return None
    return (
        Return.objects.filter(state__in=OPEN_STATES, items__unit__shipment=shipment)
        .order_by("-created_at")
        .first()
    )


def _location(request) -> Location | None:
    code = request.session.get(SESSION_LOCATION)
    loc = Location.objects.filter(code=code).first() if code else None
    return loc or Location.objects.order_by("-is_default", "pk").first()


@console_view("returns.inspect_return")
def scan(request):
    location = _location(request)
    form = ScanForm()
    loc_form = LocationForm(initial={"location": location.code if location else None})
    if request.method == "POST" and "location" in request.POST:
        loc_form = LocationForm(request.POST)
        if loc_form.is_valid():
            request.session[SESSION_LOCATION] = loc_form.cleaned_data["location"]
            messages.success(request, "Receiving location changed.")
            return redirect("console:scan")
    elif request.method == "POST":
        form = ScanForm(request.POST)
        if form.is_valid():
            code = form.cleaned_data["code"].strip()
            ret = find_return(code)
            if ret is None:
                form.add_error("code", f"No return matches {code!r}. Check the label, or search.")
            elif location is None:
                form.add_error("code", "Set up a location first.")
            else:
                waiting = ret.items.filter(unit__state__in=ON_THE_WAY).exists()
                if not waiting:
                    messages.info(request, f"{ret.rma} was already received; opening QC.")
                    return redirect("quality:qc", ret.rma)
                try:
                    return_handle_event(
                        rma=ret.rma,
                        data=ReturnEventData(type="received", location=location.code),
                        actor=staff_actor(request),
                    )
                except ApplicationError as exc:
                    form.add_error("code", f"{ret.rma}: {exc.message}")
                else:
                    messages.success(request, f"{ret.rma} received at {location.name}.")
                    return redirect("quality:qc", ret.rma)
    return render(
        request,
        "console/scan.html",
        {"form": form, "loc_form": loc_form, "location": location},
        status=400 if form.errors else 200,
    )
