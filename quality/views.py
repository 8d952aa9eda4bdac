"""The console's QC screen: per received unit, grade, checklist, photos and
disposition, recorded through the same service as the inspections API."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from console.access import console_view, staff_actor
from flows import quality as quality_flows
from oms.errors import ApplicationError, NotFound
from orders.states import UnitState
from returns.selectors import return_get
from returns.states import Disposition

from . import selectors, services
from .models import DefectType
from .services.qc import CHECKLIST
from .states import Grade


class InspectionForm(forms.Form):
    unit = forms.IntegerField(widget=forms.HiddenInput)
    passed = forms.TypedChoiceField(
        label="Result",
        choices=[("true", "Passed"), ("false", "Failed (send back)")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    grade = forms.ChoiceField(label="Grade", choices=[("", "—"), *Grade.choices], required=False)
    disposition = forms.ChoiceField(
        label="Disposition",
        choices=[("", "Default for the reason"), *Disposition.choices],
        required=False,
    )
    defect_type = forms.ChoiceField(label="Defect type", required=False)
    notes = forms.CharField(label="Notes", max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["defect_type"].choices = [
            ("", "Keep as claimed"),
            *DefectType.objects.filter(active=True).values_list("code", "label"),
        ]
        for key, label in CHECKLIST.items():
            self.fields[f"check_{key}"] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict:
        return {k: self.cleaned_data[f"check_{k}"] for k in CHECKLIST}


@console_view("returns.inspect_return")
def qc_screen(request, rma: str):
    try:
        return_request = return_get(rma)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
    refused = None  # the unit's form, bound, when its inspection was refused
    if request.method == "POST":
        unit_id = request.POST.get("unit", "")
        form = InspectionForm(request.POST, auto_id=f"u{unit_id}-%s")
        if not form.is_valid():
            return _screen(request, return_request, form, status=400)
        v = form.cleaned_data
        try:
            quality_flows.inspection_record(
                rma=rma,
                data=services.InspectionData(
                    unit=v["unit"],
                    passed=v["passed"],
                    grade=v["grade"],
                    disposition=v["disposition"],
                    notes=v["notes"],
                    checklist=form.checklist(),
                    defect_type=v["defect_type"],
                    photos=request.FILES.getlist("photos"),
                ),
                actor=staff_actor(request),
            )
        except ApplicationError as exc:
            # "results[0].disposition: …" names the field; show it there.
            m = re.match(r"results\[\d+\]\.(\w+): (.*)", exc.message, re.S)
            if m and m.group(1) in form.fields:
                form.add_error(m.group(1), m.group(2)[:1].upper() + m.group(2)[1:])
            else:
                form.add_error(None, exc.message)
            return _screen(request, return_request, form, status=400)
        messages.success(request, f"Inspection of unit {v['unit']} recorded.")
        return redirect("quality:qc", rma)
    return _screen(request, return_request, refused)


def _screen(request, return_request, refused, status: int = 200):
    """The QC screen; ``refused`` (a bound form) replaces its unit's empty
    form, so what was entered stays, with the error next to the field."""
    refused_unit = str(refused.data.get("unit", "")) if refused is not None else None
    quality = selectors.return_quality(return_request)
    rows = [
        {
            "item": item,
            "quality": quality.get(item.unit_id, {}),
            "form": (
                refused
                if refused_unit == str(item.unit_id)
                else InspectionForm(initial={"unit": item.unit_id}, auto_id=f"u{item.unit_id}-%s")
            )
            if item.unit.state == UnitState.RETURNED
            else None,
        }
        for item in return_request.items.all()
    ]
    return render(request, "quality/qc.html", {"ret": return_request, "rows": rows}, status=status)
