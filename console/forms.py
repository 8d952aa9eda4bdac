"""Console forms: login, search, contact log, review, root cause, events and
the soft-return wizard's steps."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from returns.messages import REJECT_REASONS
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
        choices=[("", "Not inspected yet"), ("1", "Passed"), ("0", "Failed")],
        coerce=lambda v: v == "1",
        required=False,
        empty_value=None,
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


class DispatchForm(forms.Form):
    tracking_number = forms.CharField(
        label="AWB (courier tracking number)",
        max_length=100,
        error_messages={"required": "Enter the AWB of the replacement parcel."},
    )
    units = forms.MultipleChoiceField(
        label="Replacements in this parcel",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one replacement to dispatch."},
    )

    def __init__(self, *args, items, **kw):
        super().__init__(*args, **kw)
        self.fields["units"].choices = [
            (
                str(i.unit_id),
                f"Unit #{i.unit_id} → {i.exchange_sku.name if i.exchange_sku else i.unit.sku.name}",
            )
            for i in items
        ]
        self.fields["units"].initial = [str(i.unit_id) for i in items]

    def clean_tracking_number(self):
        value = self.cleaned_data["tracking_number"].strip()
        if not value.replace("-", "").isalnum():
            raise forms.ValidationError("An AWB has letters, digits and dashes only.")
        return value


class DifferenceForm(forms.Form):
    amount = forms.DecimalField(label="Amount collected", max_digits=14, decimal_places=2)
    method = forms.ChoiceField(
        label="Paid by", choices=[("upi", "UPI"), ("card", "Card"), ("wallet", "Wallet")]
    )


CANCEL_REASONS = [
    ("customer_request", "The customer asked to cancel"),
    ("duplicate", "Duplicate of another return"),
    ("resolved_otherwise", "Resolved another way (for example a partial credit)"),
    ("pickup_impossible", "Pickup not possible at the address"),
    ("other", "Other"),
]


class _ReasonForm(forms.Form):
    note = forms.CharField(
        label="Note for the record (internal)",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label="I have checked this with the customer or the case notes",
        error_messages={"required": "Tick the box to confirm."},
    )

    def reason_text(self) -> str:
        label = dict(self.fields["reason"].choices).get(self.cleaned_data["reason"], "")
        note = self.cleaned_data.get("note", "").strip()
        return f"{label}: {note}" if note else str(label)


class CancelForm(_ReasonForm):
    reason = forms.ChoiceField(label="Why", choices=[("", "Choose…"), *CANCEL_REASONS])
    field_order = ["reason", "note", "confirm"]


CONVERT_REASONS = [
    ("out_of_stock", "Replacement out of stock"),
    ("customer_request", "The customer prefers a refund"),
    ("pickup_failed", "Pickup failed repeatedly"),
    ("low_value", "Not worth collecting (low value)"),
    ("goodwill", "Goodwill gesture"),
    ("other", "Other"),
]


class ConvertForm(_ReasonForm):
    reason = forms.ChoiceField(label="Why", choices=[("", "Choose…"), *CONVERT_REASONS])
    field_order = ["reason", "note", "confirm"]


class RejectForm(_ReasonForm):
    reason = forms.ChoiceField(label="Reason (decides the customer's message)")
    field_order = ["reason", "note", "confirm"]

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["reason"].choices = [("", "Choose…")] + [
            (code, label) for code, (label, _) in REJECT_REASONS.items()
        ]
