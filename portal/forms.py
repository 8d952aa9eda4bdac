"""Portal forms. The return form is built per order: one block of fields per
returnable unit, then the refund method the policy allows."""

from __future__ import annotations

from django import forms

from oms.images import NotAnImage, TooManyPixels, image_format
from returns.services import ItemRequest, ReturnRequest
from returns.states import RefundMethod, Resolution

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS = 5
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class LookupForm(forms.Form):
    order_number = forms.CharField(
        label="Order number",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. OD-7K3M9Q2X"}),
    )
    contact = forms.CharField(
        label="Email or phone number on the order",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "email"}),
    )


class CodeForm(forms.Form):
    code = forms.RegexField(
        label="6-digit code",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "Enter the 6 digits from the email."},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6"}
        ),
    )


def check_photos(files: list) -> tuple[list, list[str]]:
    """(upload, content type) for each good file, and the errors. The type is
    read from the content with Pillow, never trusted from the browser."""
    errors: list[str] = []
    good = []
    if len(files) > MAX_PHOTOS:
        return [], [f"Attach at most {MAX_PHOTOS} photos."]
    for upload in files:
        if upload.size > MAX_PHOTO_BYTES:
            errors.append(f"{upload.name} is larger than 5 MB.")
            continue
        try:
            fmt = image_format(upload)
        except TooManyPixels as exc:
            errors.append(f"{upload.name} is too large an image ({exc}).")
            continue
        except NotAnImage:
            errors.append(f"{upload.name} is not a JPEG, PNG or WebP image.")
            continue
        if fmt not in PHOTO_TYPES:
            errors.append(f"{upload.name} is a {fmt} image; use JPEG, PNG or WebP.")
            continue
        good.append((upload, PHOTO_TYPES[fmt]))
    return good, errors


class ReturnForm(forms.Form):
    """``units``: the returnable units; ``reasons``: ReturnReason rows;
    ``variants``: unit id → [(sku code, label, available)];
    ``refund_methods``: the codes the policy allows for this order."""

    refund_method = forms.ChoiceField(label="Refund to", widget=forms.RadioSelect)
    upi_id = forms.CharField(label="UPI id", required=False, max_length=256)
    account_name = forms.CharField(label="Account holder's name", required=False, max_length=200)
    account_number = forms.CharField(label="Account number", required=False, max_length=18)
    ifsc = forms.CharField(label="IFSC code", required=False, max_length=11)

    def __init__(self, *args, units, reasons, variants, refund_methods, for_quote=False, **kw):
        super().__init__(*args, **kw)
        self.units, self.reasons, self.variants = units, list(reasons), variants
        self.for_quote = for_quote
        self.defect_codes = {r.code for r in self.reasons if r.defect}
        self.fields["refund_method"].choices = [(m, RefundMethod(m).label) for m in refund_methods]
        if refund_methods:
            self.fields["refund_method"].initial = refund_methods[0]
        reason_choices = [("", "Choose a reason")] + [(r.code, r.label) for r in self.reasons]
        for unit in units:
            uid = unit.pk
            self.fields[f"unit_{uid}"] = forms.BooleanField(
                label="Return this item",
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "pick"}),
            )
            self.fields[f"reason_{uid}"] = forms.ChoiceField(
                label="Reason",
                choices=reason_choices,
                required=False,
                widget=forms.Select(attrs={"class": "reason"}),
            )
            self.fields[f"resolution_{uid}"] = forms.ChoiceField(
                label="Refund or exchange?",
                choices=[
                    (Resolution.REFUND, "Refund"),
                    (Resolution.EXCHANGE, "Exchange"),
                ],
                initial=Resolution.REFUND,
                required=False,
                widget=forms.Select(attrs={"class": "resolution"}),
            )
            options = [("", "Choose a variant")] + [
                (code, f"{label} — {'in stock' if avail > 0 else 'out of stock'}")
                for code, label, avail in variants.get(uid, [])
            ]
            self.fields[f"exchange_{uid}"] = forms.ChoiceField(
                label="Exchange for", choices=options, required=False
            )
        self.photos: dict[int, list] = {}

    def error_summary(self) -> list[tuple[str, str]]:
        """(anchor, text) for every error, naming the item it is about."""
        names = {f"_{u.pk}": u.sku.name for u in self.units}
        out = [("", str(e)) for e in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == "__all__":
                continue
            suffix = "_" + name.rsplit("_", 1)[-1] if "_" in name else ""
            about = names.get(suffix) or self.fields[name].label
            for e in errors:
                out.append((f"id_{name}", f"{about}: {e}"))
        return out

    def unit_rows(self, held: dict | None = None):
        held = held or {}
        for unit in self.units:
            uid = unit.pk
            yield {
                "held": held.get(uid, []),
                "unit": unit,
                "pick": self[f"unit_{uid}"],
                "reason": self[f"reason_{uid}"],
                "resolution": self[f"resolution_{uid}"],
                "exchange": self[f"exchange_{uid}"],
                "variants": self.variants.get(uid, []),
                "photo_name": f"photos_{uid}",
            }

    def clean(self):
        data = super().clean()
        chosen = [u for u in self.units if data.get(f"unit_{u.pk}")]
        if not chosen:
            raise forms.ValidationError("Choose at least one item to return or exchange.")
        money_back = False
        for unit in chosen:
            uid = unit.pk
            reason = data.get(f"reason_{uid}")
            if not reason:
                self.add_error(f"reason_{uid}", "Choose a reason.")
            resolution = data.get(f"resolution_{uid}") or Resolution.REFUND
            data[f"resolution_{uid}"] = resolution
            if resolution == Resolution.EXCHANGE:
                code = data.get(f"exchange_{uid}")
                stock = {c: a for c, _, a in self.variants.get(uid, [])}
                if not code:
                    self.add_error(f"exchange_{uid}", "Choose the size or colour you want.")
                elif stock.get(code, 0) <= 0:
                    self.add_error(f"exchange_{uid}", "That variant is out of stock.")
            else:
                money_back = True
            if reason in self.defect_codes and not self.for_quote:
                from .services import photos_held

                files = self.files.getlist(f"photos_{uid}") if self.files else []
                held = photos_held(self.data.getlist(f"held_photos_{uid}"))
                if not files and not held:
                    self.add_error(
                        f"reason_{uid}", f"Add at least one photo of the {unit.sku.name}."
                    )
                good, errors = check_photos(files)
                if len(good) + len(held) > MAX_PHOTOS:
                    errors.append(f"Attach at most {MAX_PHOTOS} photos.")
                for error in errors:
                    self.add_error(f"reason_{uid}", error)
                self.photos[uid] = held + good
        if money_back and data.get("refund_method") == RefundMethod.BANK_TRANSFER:
            has_upi = bool(data.get("upi_id"))
            has_bank = all(data.get(k) for k in ("account_name", "account_number", "ifsc"))
            if not (has_upi or has_bank) and not self.for_quote:
                self.add_error(
                    "upi_id", "Give a UPI id, or the account holder, account number and IFSC."
                )
        data["chosen"] = chosen
        return data

    def to_request(self, order_number: str, *, channel: str = "portal") -> ReturnRequest:
        data = self.cleaned_data
        payout = {}
        if data.get("refund_method") == RefundMethod.BANK_TRANSFER:
            if data.get("upi_id"):
                payout = {"upi_id": data["upi_id"].strip()}
            else:
                payout = {
                    "account_name": data.get("account_name", "").strip(),
                    "account_number": data.get("account_number", "").strip(),
                    "ifsc": data.get("ifsc", "").strip().upper(),
                }
        return ReturnRequest(
            order=order_number,
            refund_method=data.get("refund_method") or RefundMethod.ORIGINAL,
            payout=payout,
            channel=channel,
            items=[
                ItemRequest(
                    unit=u.pk,
                    reason=data.get(f"reason_{u.pk}") or "changed_mind",
                    resolution=data[f"resolution_{u.pk}"],
                    exchange_sku=data.get(f"exchange_{u.pk}") or None
                    if data[f"resolution_{u.pk}"] == Resolution.EXCHANGE
                    else None,
                )
                for u in data["chosen"]
            ],
        )
