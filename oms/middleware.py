"""Refuse bad requests before any view sees them, and keep every error under
``/api/`` in the one shape ``{"code", "message", "extra"}``.

- A NUL character in the path, the query string or a header is refused with 400:
  PostgreSQL cannot store or compare text holding one.
- A body larger than the configured limit is refused with 413 from its
  ``Content-Length`` alone, before a byte of it is read (multipart uploads:
  ``OMS_MAX_UPLOAD_BYTES``; any other body: ``DATA_UPLOAD_MAX_MEMORY_SIZE``).
- Under ``/api/``, an error page that Django renders itself (an unknown path,
  a debug 404 or 500 page) is replaced by the JSON shape.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

API_PREFIX = "/api/"

STATUS_CODES = {
    400: ("invalid", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    406: ("not_acceptable", "Could not satisfy the request Accept header."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type."),
    429: ("throttled", "Too many requests."),
    500: ("server_error", "Server error. The error was logged."),
}


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(status: int, code: str | None = None, message: str | None = None, extra=None):
    default_code, default_message = STATUS_CODES.get(status, ("error", "Error."))
    return JsonResponse(
        {"code": code or default_code, "message": message or default_message, "extra": extra or {}},
        status=status,
    )


def body_limit(request) -> int | None:
    """The largest body this request may carry, in bytes (None: no limit)."""
    if request.content_type == "multipart/form-data":
        return settings.OMS_MAX_UPLOAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except (TypeError, ValueError):
        return 0


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = self._refuse(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            return api_error(response.status_code)
        return response

    def _refuse(self, request):
        try:
            where = _nul_in(request)
        except TooManyFieldsSent:
            # Django's own (debug) error page would read request.GET again.
            return self._error(
                request,
                400,
                "invalid",
                f"More than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query parameters.",
                {"max": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
            )
        if where:
            return self._error(
                request, 400, "invalid", f"The {where} holds a NUL character.", {"where": where}
            )
        limit = body_limit(request)
        length = _content_length(request)
        if limit is not None and length > limit:
            return self._error(
                request,
                413,
                "too_large",
                f"The request body is {_mb(length)}; the limit is {_mb(limit)}.",
                {"size": length, "max": limit},
            )
        return None

    def _error(self, request, status: int, code: str, message: str, extra: dict):
        if is_api(request):
            return api_error(status, code, message, extra)
        return HttpResponse(
            render_to_string("error.html", {"status": status, "message": message}, request),
            status=status,
        )


def _nul_in(request) -> str | None:
    if "\x00" in request.path_info:
        return "path"
    if "\x00" in _query_text(request):
        return "query"
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return f"header {key[5:].replace('_', '-').title()}"
    return None


def _query_text(request) -> str:
    # The decoded query: "%00" arrives as a NUL only after decoding.
    return "".join(k + "".join(vs) for k, vs in request.GET.lists())


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
