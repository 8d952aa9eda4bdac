"""Lookups the console pages share: an order or a return, or 404."""

from __future__ import annotations

from django.http import Http404

from oms.errors import NotFound
from orders.selectors import order_get
from returns.selectors import return_get


def _order_or_404(number: str):
    try:
        return order_get(number)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def _return_or_404(rma: str):
    try:
        return return_get(rma)
    except NotFound as exc:
        raise Http404(str(exc)) from exc
