"""A customer's bank or UPI details for a payout (cash-on-delivery refunds):
checked and normalised once, and masked for everyone but finance.

The details live encrypted (``oms.crypto``) on the return
(``Return.payout_details``) and on each payout (``refunds.Payout.details``).
Finance's API and console show them in full; the portal, the agent console,
the admin, timeline rows, messages and logs only ever get ``payout_mask``.
"""

from __future__ import annotations

import re

from oms.errors import ApplicationError

IFSC = r"^[A-Z]{4}0[A-Z0-9]{6}$"
UPI = r"^[\w.\-]{2,256}@[A-Za-z]{2,64}$"
DOT = "•"


def _err(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", code="invalid", extra={"field": field})


def payout_details_clean(raw: dict | None, *, prefix: str = "payout") -> dict:
    """``{"upi_id"}`` or ``{"account_name", "account_number", "ifsc"}``, trimmed
    and normalised; anything else is a 400 naming the field."""
    raw = raw or {}
    upi = str(raw.get("upi_id") or "").strip()
    if upi:
        if not re.match(UPI, upi):
            raise _err(f"{prefix}.upi_id", "is not a valid UPI id (name@bank).")
        return {"upi_id": upi.lower()}
    name = " ".join(str(raw.get("account_name") or "").split())
    number = str(raw.get("account_number") or "").strip()
    ifsc = str(raw.get("ifsc") or "").strip().upper()
    if not (name and number and ifsc):
        raise _err(prefix, "give upi_id, or account_name, account_number and ifsc.")
    if len(name) > 100:
        raise _err(f"{prefix}.account_name", "is longer than 100 characters.")
    if not re.match(IFSC, ifsc):
        raise _err(f"{prefix}.ifsc", "is not a valid IFSC code (e.g. HDFC0001234).")
    if not number.isdigit() or not 6 <= len(number) <= 18:
        raise _err(f"{prefix}.account_number", "must be 6 to 18 digits.")
    return {"account_name": name, "account_number": number, "ifsc": ifsc}


def payout_rail(details: dict) -> str:
    return "upi" if details.get("upi_id") else "bank"


def payout_mask(details: dict | None) -> dict:
    """The same keys, masked: ``••••••1234`` for an account, ``as••••@okhdfc``
    for a UPI id, ``A•••• K••••`` for a name, ``HDFC•••••••`` for an IFSC."""
    details = details or {}
    out = {}
    if details.get("upi_id"):
        name, _, bank = str(details["upi_id"]).partition("@")
        out["upi_id"] = f"{name[:2]}{DOT * 4}@{bank}"
    if details.get("account_name"):
        out["account_name"] = " ".join(
            w[:1] + DOT * 4 for w in str(details["account_name"]).split()
        )
    if details.get("account_number"):
        out["account_number"] = DOT * 6 + str(details["account_number"])[-4:]
    if details.get("ifsc"):
        ifsc = str(details["ifsc"])
        out["ifsc"] = ifsc[:4] + DOT * (len(ifsc) - 4)
    return out


def payout_mask_text(details: dict | None) -> str:
    """One line for pages and timeline rows: ``UPI as••••@okhdfc`` and/or
    ``account ••••••1234 (HDFC•••••••)``."""
    masked = payout_mask(details)
    parts = []
    if "upi_id" in masked:
        parts.append(f"UPI {masked['upi_id']}")
    if "account_number" in masked:
        bank = f" ({masked['ifsc']})" if "ifsc" in masked else ""
        parts.append(f"account {masked['account_number']}{bank}")
    return ", ".join(parts) or "-"
