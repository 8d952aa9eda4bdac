"""Console forms: login, search, contact log, review, root cause, events and
the soft-return wizard's steps."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from returns.states import Disposition, RefundMethod

from .services import CONTACT_CHANNELS, ROOT_CAUSES

CONSOLE_GROUPS = ("agent", "supervisor", "ops", "finance", "warehouse")


def is_console_user(user) -> bool:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name__in=CONSOLE_GROUPS).exists()


class ConsoleLoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not is_console_user(user):
            raise forms.ValidationError(
                "This account cannot use the agent console.", code="not_console_user"
            )


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Order number, RMA, phone or email",
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True}),
    )


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label="Channel", choices=CONTACT_CHANNELS)
    summary = forms.CharField(
        label="What the customer asked", max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    resolved = forms.BooleanField(label="Resolved on this contact", required=False)


class GoodwillForm(forms.Form):
    amount = forms.DecimalField(
        label="Goodwill credit", max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(label="Reason", max_length=500)


class ReviewForm(forms.Form):
    note = forms.CharField(label="Note for the record", max_length=500, required=False)


class RootCauseForm(forms.Form):
    root_cause = forms.ChoiceField(label="Root cause", choices=[("", "Choose…"), *ROOT_CAUSES])


class ReceivedForm(forms.Form):
    location = forms.ChoiceField(label="Received at")

    def __init__(self, *args, locations, **kw):
        super().__init__(*args, **kw)
        self.fields["location"].choices = [(loc.code, loc.name) for loc in locations]


class QcForm(forms.Form):
    passed = forms.TypedChoiceField(
        label="Inspection",
        choices=[("1", "Passed"), ("0", "Failed")],
        coerce=lambda v: v == "1",
    )
    disposition = forms.ChoiceField(
        label="Disposition",
        choices=[("", "Default for the result"), *Disposition.choices],
        required=False,
    )
    notes = forms.CharField(label="QC notes", max_length=500, required=False)


CASES = [
    ("fit", "Wrong size or fit", ["size_too_small", "size_too_large"]),
    ("changed_mind", "Changed their mind", ["changed_mind"]),
    ("quality", "Damaged or defective", ["defective", "damaged_in_transit"]),
    ("wrong_item", "We sent the wrong item", ["wrong_item"]),
    ("not_as_described", "Not as described", ["not_as_described"]),
]
CASE_REASONS = {code: reasons for code, _, reasons in CASES}


class ClassifyForm(forms.Form):
    case = forms.ChoiceField(
        label="What happened?",
        choices=[(c, label) for c, label, _ in CASES],
        widget=forms.RadioSelect,
    )
    units = forms.MultipleChoiceField(label="Which items?", widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, unit_choices, **kw):
        super().__init__(*args, **kw)
        self.fields["units"].choices = unit_choices


class EligibilityForm(forms.Form):
    override = forms.BooleanField(label="Override eligibility (supervisor)", required=False)
    override_note = forms.CharField(label="Why the override", max_length=300, required=False)
    drop_ineligible = forms.BooleanField(
        label="Continue without the ineligible items", required=False
    )


class ResolutionForm(forms.Form):
    refund_method = forms.ChoiceField(label="Refund to", widget=forms.RadioSelect)
    upi_id = forms.CharField(label="UPI id", required=False, max_length=256)
    account_name = forms.CharField(label="Account holder", required=False, max_length=200)
    account_number = forms.CharField(label="Account number", required=False, max_length=18)
    ifsc = forms.CharField(label="IFSC", required=False, max_length=11)

    def __init__(self, *args, units, reasons, variants, refund_methods, **kw):
        super().__init__(*args, **kw)
        self.units = units
        self.fields["refund_method"].choices = [(m, RefundMethod(m).label) for m in refund_methods]
        if refund_methods:
            self.fields["refund_method"].initial = refund_methods[0]
        for unit in units:
            uid = unit.pk
            self.fields[f"reason_{uid}"] = forms.ChoiceField(label="Reason", choices=reasons)
            self.fields[f"resolution_{uid}"] = forms.ChoiceField(
                label="Resolution",
                choices=[("refund", "Refund"), ("exchange", "Exchange for another variant")],
            )
            self.fields[f"exchange_{uid}"] = forms.ChoiceField(
                label="Exchange for",
                required=False,
                choices=[("", "—")]
                + [
                    (code, f"{label} ({avail} in stock)")
                    for code, label, avail in variants.get(uid, [])
                ],
            )

    def rows(self):
        for unit in self.units:
            yield (
                unit,
                self[f"reason_{unit.pk}"],
                self[f"resolution_{unit.pk}"],
                self[f"exchange_{unit.pk}"],
            )

    def clean(self):
        data = super().clean()
        for unit in self.units:
            if data.get(f"resolution_{unit.pk}") == "exchange" and not data.get(
                f"exchange_{unit.pk}"
            ):
                self.add_error(f"exchange_{unit.pk}", "Choose the variant for the exchange.")
        return data
