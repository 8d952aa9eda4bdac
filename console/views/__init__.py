"""Agent console pages: search, order, return, queues, dashboard. Views call
services and selectors; every state change is a POST with CSRF."""

from .auth import LoginView, logout
from .common import _order_or_404
from .orders import contact_add, goodwill_grant, order_detail, order_tenders, search
from .queues import dashboard, queues, refunds_csv, return_assign
from .returns import (
    return_approve_view,
    return_book_pickup,
    return_detail,
    return_event,
    return_modify,
    return_root_cause,
)

__all__ = [
    "LoginView",
    "_order_or_404",
    "contact_add",
    "dashboard",
    "goodwill_grant",
    "logout",
    "order_detail",
    "order_tenders",
    "queues",
    "refunds_csv",
    "return_approve_view",
    "return_assign",
    "return_book_pickup",
    "return_detail",
    "return_event",
    "return_modify",
    "return_root_cause",
    "search",
]
