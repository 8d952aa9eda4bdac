"""The policy form ops fill in the admin: plain fields for what the model keeps
as JSON (lists, the refund methods per payment method, the SLA hours), and a
preview of what changes against the version it starts from."""

from __future__ import annotations

from django import forms

from orders.states import PaymentMethod

from .models import ReturnPolicy
from .services.policy import POLICY_FIELDS
from .states import RefundMethod

SLA_LEGS = [
    ("pickup", "Pickup"),
    ("qc", "Quality check"),
    ("exchange_dispatch", "Exchange dispatch"),
    ("refund", "Refund"),
]
JSON_FIELDS = {
    "non_returnable_skus",
    "non_returnable_categories",
    "refund_methods",
    "tender_order",
    "sla_hours",
}


def _words(values) -> str:
    return ", ".join(str(v) for v in values or [])


def _split(text: str) -> list[str]:
    return [w.strip() for w in (text or "").replace("\n", ",").split(",") if w.strip()]


class PolicyFormBase(forms.ModelForm):
    non_returnable_skus = forms.CharField(
        label="Non-returnable SKUs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="SKU codes, separated by commas. A defect is still accepted under warranty.",
    )
    non_returnable_categories = forms.CharField(
        label="Non-returnable categories",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Category names, separated by commas (final sale).",
    )
    tender_order = forms.CharField(
        label="Refund split tenders in this order",
        help_text="Payment methods, first refunded first: " + ", ".join(PaymentMethod.values),
    )
    preview = False  # set by the admin on "Preview changes"
    base: ReturnPolicy | None = None

    class Meta:
        model = ReturnPolicy
        fields = [f for f in POLICY_FIELDS if f not in ("refund_methods", "sla_hours")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        initial = self.initial
        for method in PaymentMethod.values:
            initial.setdefault(
                f"refund_methods_{method}",
                (initial.get("refund_methods") or {}).get(method, ["store_credit"]),
            )
        for leg, _ in SLA_LEGS:
            initial.setdefault(f"sla_{leg}", (initial.get("sla_hours") or {}).get(leg, 48))
        for name in ("non_returnable_skus", "non_returnable_categories", "tender_order"):
            if isinstance(initial.get(name), list):
                initial[name] = _words(initial[name])
        self.preview_rows: list[tuple[str, str, str]] = []

    def clean_non_returnable_skus(self):
        return _split(self.cleaned_data["non_returnable_skus"])

    def clean_non_returnable_categories(self):
        return _split(self.cleaned_data["non_returnable_categories"])

    def clean_tender_order(self):
        order = _split(self.cleaned_data["tender_order"])
        unknown = [m for m in order if m not in PaymentMethod.values]
        if unknown:
            raise forms.ValidationError(
                f"Unknown payment method(s): {', '.join(unknown)}. Use {', '.join(PaymentMethod.values)}."
            )
        if len(set(order)) != len(order):
            raise forms.ValidationError("A payment method is listed twice.")
        return order

    def policy_values(self) -> dict:
        d = self.cleaned_data
        values = {f: d[f] for f in POLICY_FIELDS if f in d}
        # A payment method the base does not name falls back to store credit;
        # it is written only when ops choose something else for it.
        named = set(getattr(self.base, "refund_methods", None) or {})
        values["refund_methods"] = {
            m: d.get(f"refund_methods_{m}") or []
            for m in PaymentMethod.values
            if m in named or set(d.get(f"refund_methods_{m}") or []) != {"store_credit"}
        }
        values["sla_hours"] = {leg: d[f"sla_{leg}"] for leg, _ in SLA_LEGS}
        return values

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for m, label in PaymentMethod.choices:
            if not data.get(f"refund_methods_{m}"):
                self.add_error(
                    f"refund_methods_{m}", f"Allow at least one refund method for {label}."
                )
        if self.errors:
            return data
        values = self.policy_values()
        for f, v in values.items():
            setattr(self.instance, f, v)
        if self.preview:
            self.preview_rows = policy_diff(self.base, values)
            if not self.preview_rows:
                raise forms.ValidationError(
                    "Preview: nothing differs from the current version; nothing is saved.",
                    code="preview",
                )
            raise forms.ValidationError(
                "Preview only: nothing is saved yet. Check the changes listed above, then Save "
                "to create the new version.",
                code="preview",
            )
        return data


def _extra_fields() -> dict:
    """Form fields for the JSON settings: one checkbox group per payment
    method, one hours field per SLA leg (declared, so the admin knows them)."""
    fields: dict = {}
    for method, label in PaymentMethod.choices:
        fields[f"refund_methods_{method}"] = forms.MultipleChoiceField(
            label=f"Paid by {label}: refund to",
            choices=RefundMethod.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
    for leg, label in SLA_LEGS:
        fields[f"sla_{leg}"] = forms.IntegerField(
            label=f"{label} SLA (hours)", min_value=1, max_value=24 * 60
        )
    return fields


PolicyForm = type(PolicyFormBase)(
    "PolicyForm", (PolicyFormBase,), {"__module__": __name__, **_extra_fields()}
)
REFUND_FIELDS = [f"refund_methods_{m}" for m in PaymentMethod.values]
SLA_FIELDS = [f"sla_{leg}" for leg, _ in SLA_LEGS]


def policy_diff(base: ReturnPolicy | None, values: dict) -> list[tuple[str, str, str]]:
    """(setting, current, new) for every setting that differs from ``base``."""
    rows = []
    for f in POLICY_FIELDS:
        old = getattr(base, f) if base is not None else None
        new = values.get(f)
        if _norm(old) != _norm(new):
            label = str(ReturnPolicy._meta.get_field(f).verbose_name).capitalize()
            rows.append((label, _show(old), _show(new)))
    return rows


def _norm(v):
    from decimal import Decimal

    if isinstance(v, Decimal):
        return v.normalize()
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    return v


def _show(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {_show(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) or "(none)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v) if v != "" else "(blank)"
