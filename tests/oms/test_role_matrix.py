"""Who may do what, as one table over every endpoint and role.

``MATRIX`` is the README's "Roles and limits" table in Python. The tests:
- walk the URL conf: every method of every view under ``/api/`` (and every
  event type of the events endpoint) has a row, so a new endpoint without an
  entry fails here;
- call every row with an API key of every role, and without one: a role in
  the row gets past the permission check (any status but 401/403), any other
  role gets 403, no key gets 401;
- check that the README's table says exactly what ``MATRIX`` says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLResolver, get_resolver

from returns.states import EventKind

pytestmark = pytest.mark.django_db

ROLES = ("storefront", "warehouse", "agent", "supervisor", "finance", "ops")
ALL = frozenset(ROLES)
PUBLIC = "public"  # no key needed: the platform's signature, or nothing, authenticates
SIGNED = "signed"
# The courier's shared token (x-api-key) authenticates: no API key of any
# role gets past it, and a call without the token is 401.
TOKEN = "token"

S, W, A, SU, F, OPS = ROLES

MATRIX: dict[str, frozenset | str] = {
    "GET /api/v1/orders/": ALL,
    "POST /api/v1/orders/": frozenset({S, OPS}),
    "GET /api/v1/orders/{number}/": ALL,
    "GET /api/v1/orders/{number}/timeline/": ALL,
    "POST /api/v1/orders/{number}/shipments/": frozenset({S, W, OPS}),
    "POST /api/v1/orders/{number}/cancel/": frozenset({S, SU, OPS}),
    "POST /api/v1/shipments/{shipment_id}/delivered/": frozenset({S, W, OPS}),
    "GET /api/v1/orders/{number}/returnable/": ALL,
    "GET /api/v1/orders/{number}/ledger/": frozenset({SU, F, OPS}),
    "GET /api/v1/returns/": ALL,
    "POST /api/v1/returns/": frozenset({S, A, SU}),
    "POST /api/v1/returns/quote/": frozenset({S, A, SU}),
    "GET /api/v1/returns/{rma}/": ALL,
    "POST /api/v1/returns/{rma}/events/ pickup_completed": frozenset({W, A, SU, OPS}),
    "POST /api/v1/returns/{rma}/events/ pickup_failed": frozenset({W, A, SU, OPS}),
    "POST /api/v1/returns/{rma}/events/ received": frozenset({W, SU}),
    "POST /api/v1/returns/{rma}/events/ qc_result": frozenset({W, SU}),
    "POST /api/v1/returns/{rma}/events/ exchange_dispatched": frozenset({W, A, SU, OPS}),
    "POST /api/v1/returns/{rma}/events/ difference_collected": frozenset({SU, F}),
    "POST /api/v1/returns/{rma}/events/ cancelled": frozenset({W, A, SU, OPS}),
    "POST /api/v1/returns/{rma}/events/ convert_to_keep": frozenset({SU}),
    "POST /api/v1/returns/{rma}/events/ convert_to_refund": frozenset({SU}),
    "POST /api/v1/returns/{rma}/events/ exchange_relocated": frozenset({SU}),
    "POST /api/v1/returns/{rma}/approve/": frozenset({SU}),
    "POST /api/v1/returns/{rma}/reject/": frozenset({SU}),
    "POST /api/v1/returns/{rma}/evidence/": frozenset({S, W, A, SU, OPS}),
    "POST /api/v1/returns/{rma}/inspections/": frozenset({W, SU}),
    "POST /api/v1/repairs/{repair_id}/events/": frozenset({W, SU}),
    "GET /api/v1/defect-patterns/": frozenset({SU, OPS}),
    "POST /api/v1/defect-patterns/": frozenset({OPS}),
    "GET /api/v1/quality/report.csv": frozenset({SU, OPS}),
    "GET /api/v1/refunds/": frozenset({S, A, SU, F, OPS}),
    "POST /api/v1/refunds/{refund_id}/retry/": frozenset({F}),
    "GET /api/v1/recoveries/": frozenset({A, SU, F}),
    "POST /api/v1/recoveries/{recovery_id}/collected/": frozenset({SU, F}),
    "POST /api/v1/recoveries/{recovery_id}/write-off/": frozenset({SU}),
    "POST /api/v1/store-credit/redemptions/": frozenset({S}),
    "GET /api/v1/store-credit/{email}/": frozenset({S, A, SU, F}),
    "POST /api/v1/store-credit/{email}/goodwill/": frozenset({SU}),
    "GET /api/v1/sla/legs/": ALL,
    "GET /api/v1/payouts/": frozenset({F}),
    "GET /api/v1/payouts/export.csv": frozenset({F}),
    "POST /api/v1/payouts/{payout_id}/paid/": frozenset({F}),
    "POST /api/v1/payouts/{payout_id}/failed/": frozenset({F}),
    "POST /api/v1/returns/{rma}/payout-details/": frozenset({S, A, SU}),
    "GET /api/v1/credit-notes/": frozenset({F}),
    "GET /api/v1/credit-notes/{number}/": frozenset({F}),
    "GET /api/v1/finance/export.csv": frozenset({F}),
    "GET /api/v1/skus/{code}/": ALL,
    "PUT /api/v1/skus/{code}/": frozenset({W, OPS}),
    "PUT /api/v1/locations/{code}/": frozenset({W, OPS}),
    "GET /api/v1/stock/": frozenset({S, W, A, SU, OPS}),
    "POST /api/v1/stock/adjustments/": frozenset({W, OPS}),
    "POST /api/v1/stock/dispositions/": frozenset({OPS}),
    "PUT /api/v1/channels/{code}/": frozenset({OPS}),
    "POST /api/v1/webhooks/shopify/{channel}/": SIGNED,
    "POST /api/v1/webhooks/woocommerce/{channel}/": SIGNED,
    "POST /api/v1/webhooks/couriers/shiprocket/": TOKEN,
    "POST /api/v1/webhooks/razorpay/": SIGNED,
    "POST /api/v1/webhooks/stripe/": SIGNED,
    "GET /api/v1/dead-letters/": frozenset({OPS}),
    "POST /api/v1/dead-letters/{delivery_id}/replay/": frozenset({OPS}),
    "GET /api/schema/": PUBLIC,
    "GET /api/docs/": PUBLIC,
}

# Path arguments that name nothing: an allowed role gets 400/404, never a change.
ARGS = {
    "number": "OD-ROLEMATRIX",
    "rma": "RMA-ROLEMATRIX",
    "shipment_id": "999999",
    "refund_id": "999999",
    "recovery_id": "999999",
    "payout_id": "999999",
    "repair_id": "999999",
    "delivery_id": "999999",
    "code": "role-matrix",
    "channel": "role-matrix",
    "email": "nobody@role-matrix.test",
}
BODIES = {
    "/api/v1/returns/{rma}/inspections/": {"unit": 1, "passed": True},
    "/api/v1/repairs/{repair_id}/events/": {"type": "started"},
    "/api/v1/recoveries/{recovery_id}/collected/": {"reference": "role-matrix"},
    "/api/v1/recoveries/{recovery_id}/write-off/": {"reason": "role-matrix"},
}
MULTIPART = {"/api/v1/returns/{rma}/evidence/": {"unit": "1"}}
# Payment gateways' webhooks answer 401 to anything unsigned, whoever sends it:
# they are called with a valid signature over an event they ignore, so the
# matrix sees that an API key neither grants nor blocks them.
GATEWAY_SECRET = "role-matrix-webhook-secret"
GATEWAY_EVENT = b'{"id": "evt_role_matrix", "event": "payment.captured", "type": "charge.captured"}'


def _gateway_headers(path: str) -> dict:
    import hashlib
    import hmac
    import time

    if path == "/api/v1/webhooks/razorpay/":
        digest = hmac.new(GATEWAY_SECRET.encode(), GATEWAY_EVENT, hashlib.sha256).hexdigest()
        return {"HTTP_X_RAZORPAY_SIGNATURE": digest}
    t = int(time.time())
    digest = hmac.new(
        GATEWAY_SECRET.encode(), f"{t}.".encode() + GATEWAY_EVENT, hashlib.sha256
    ).hexdigest()
    return {"HTTP_STRIPE_SIGNATURE": f"t={t},v1={digest}"}


README = Path(__file__).resolve().parents[2] / "README.md"


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def _route(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def routed_actions() -> set[str]:
    """Every (method, path[, event type]) the URL conf serves under /api/."""
    found = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        view = getattr(pattern.callback, "view_class", None) or pattern.callback
        path = _route(route)
        for method in ("get", "post", "put", "patch", "delete"):
            if not hasattr(view, method):
                continue
            if path == "/api/v1/returns/{rma}/events/":
                found |= {f"POST {path} {kind}" for kind in EventKind.values}
            else:
                found.add(f"{method.upper()} {path}")
    return found


def test_every_endpoint_and_event_has_a_row():
    routed = routed_actions()
    assert sorted(routed - MATRIX.keys()) == [], "endpoints with no row in the role matrix"
    assert sorted(MATRIX.keys() - routed) == [], "rows for endpoints that no longer exist"


def _call(client, action: str):
    method, path, *event = action.split(" ")
    url = path.format(**ARGS)
    if event:
        return client.post(url, {"type": event[0]}, format="json")
    if path in MULTIPART:
        return client.post(url, MULTIPART[path], format="multipart")
    if path in ("/api/v1/webhooks/razorpay/", "/api/v1/webhooks/stripe/"):
        return client.post(
            url, GATEWAY_EVENT, content_type="application/json", **_gateway_headers(path)
        )
    return getattr(client, method.lower())(url, BODIES.get(path, {}), format="json")


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_each_role_may_do_exactly_what_the_matrix_says(action, api_client_for, anon_api, settings):
    settings.RAZORPAY_WEBHOOK_SECRET = settings.STRIPE_WEBHOOK_SECRET = GATEWAY_SECRET
    expected = MATRIX[action]
    if expected == TOKEN:
        statuses = {role: _call(api_client_for(role), action).status_code for role in ROLES}
        assert set(statuses.values()) == {401}, statuses
        assert _call(anon_api, action).status_code == 401
        return
    allowed, statuses = set(), {}
    for role in ROLES:
        status = _call(api_client_for(role), action).status_code
        statuses[role] = status
        assert status != 401, f"{action} as {role}: 401"
        assert status < 500, f"{action} as {role}: {status}"
        if status != 403:
            allowed.add(role)
    anon = _call(anon_api, action).status_code
    if expected in (PUBLIC, SIGNED):
        assert allowed == set(ROLES), statuses
        assert anon not in (401, 403), anon
    else:
        assert allowed == set(expected), statuses
        assert anon == 401


def _readme_table() -> dict[str, frozenset | str]:
    text = README.read_text()
    section = text.split("## Roles and limits", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, frozenset | str] = {}
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        action = cells[0].strip("`")
        marks = cells[1:]
        assert len(marks) == len(ROLES), line
        if all(m == marks[0] for m in marks) and marks[0] in (PUBLIC, SIGNED, TOKEN):
            table[action] = marks[0]
        else:
            assert set(marks) <= {"✓", ""}, line
            table[action] = frozenset(r for r, m in zip(ROLES, marks, strict=True) if m == "✓")
    return table


def test_the_readme_matrix_is_this_matrix():
    assert _readme_table() == MATRIX


def readme_rows() -> str:
    """The README table, generated from MATRIX (paste it when MATRIX changes)."""
    lines = [
        "| endpoint / action | " + " | ".join(ROLES) + " |",
        "| --- |" + " :-: |" * len(ROLES),
    ]
    for action, who in MATRIX.items():
        if isinstance(who, str):
            marks = [who] * len(ROLES)
        else:
            marks = ["✓" if r in who else "" for r in ROLES]
        lines.append(f"| `{action}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)
