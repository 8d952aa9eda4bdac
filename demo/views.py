"""The home page: where each kind of user goes, and, once the demo is seeded
(``manage.py seed_demo``), a few demo orders per scenario with the login to
use, so a new user can try each flow without searching the admin. Never in
production: the demo passwords are only shown when ``OMS_ENV`` is not
production and the demo users exist."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import render

from returns.models import Return
from returns.states import ReturnState, ReturnType

from .catalogue import EXTERNAL_PREFIX, USERS

PASSWORDS = {username: password for username, password, _, _ in USERS}

# title, what to try, filter on returns, staff login to use
SCENARIOS = [
    (
        "Partial return",
        "Keeps some items, returns one for a refund.",
        {"type": ReturnType.PARTIAL_RETURN, "is_full_return": False},
        "agent",
    ),
    (
        "Exchange",
        "Swaps a size; the replacement is reserved at once.",
        {"type": ReturnType.EXCHANGE},
        "warehouse",
    ),
    (
        "Doorstep refusal",
        "One item refused at delivery rides back with the courier.",
        {"type": ReturnType.DOORSTEP_REFUSAL},
        "warehouse",
    ),
    (
        "Damaged item",
        "A defect claim with photos: quarantined, never resold.",
        {"type": ReturnType.QUALITY_REJECTION},
        "warehouse",
    ),
    (
        "Held for review",
        "High risk: waits for a supervisor to approve or reject.",
        {"state": ReturnState.PENDING_REVIEW},
        "supervisor",
    ),
]
PER_SCENARIO = 2


def demo_scenarios() -> list[dict]:
    if getattr(settings, "PRODUCTION", False):
        return []
    present = set(
        get_user_model().objects.filter(username__in=PASSWORDS).values_list("username", flat=True)
    )
    if not present:
        return []
    out = []
    for title, what, filters, staff in SCENARIOS:
        returns = list(
            Return.objects.filter(order__external_id__startswith=EXTERNAL_PREFIX, **filters)
            .select_related("order")
            .order_by("-created_at")[:PER_SCENARIO]
        )
        if not returns:
            continue
        out.append(
            {
                "title": title,
                "what": what,
                "returns": returns,
                "staff": staff if staff in present else None,
                "password": PASSWORDS.get(staff) if staff in present else None,
            }
        )
    return out


def home(request):
    return render(request, "home.html", {"scenarios": demo_scenarios()})
