"""One error shape for the whole API: ``{"code", "message", "extra"}``.

Services raise ``ApplicationError`` (or a subclass carrying its HTTP status);
the DRF exception handler renders it and DRF's own exceptions in the same shape.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}


class Conflict(ApplicationError):
    """The change does not fit the current state, or a concurrent change won."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class Unprocessable(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


class ErrorSerializer(serializers.Serializer):
    """Documented error body."""

    code = serializers.CharField()
    message = serializers.CharField()
    extra = serializers.DictField()


# The documented error responses every API shares (drf-spectacular).
ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input; the message names the field."
    ),
    401: OpenApiResponse(ErrorSerializer, description="No valid API key."),
    403: OpenApiResponse(ErrorSerializer, description="The key's role lacks the permission."),
    404: OpenApiResponse(ErrorSerializer, description="Not found."),
    409: OpenApiResponse(
        ErrorSerializer, description="Does not fit the current state, or lost a race."
    ),
}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                out.update(_flatten(value, f"{prefix}[{key}]"))
                continue
            name = key if key != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            out.update(_flatten(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            out[prefix or "non_field_errors"] = [str(d) for d in detail]
        else:
            for i, value in enumerate(detail):
                if value:
                    out.update(_flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_response(code: str, message: str, extra: dict | None, status_code: int) -> Response:
    return Response({"code": code, "message": message, "extra": extra or {}}, status=status_code)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return error_response(exc.code, exc.message, exc.extra, exc.status_code)
    if isinstance(exc, TransitionNotAllowed | ConcurrentTransition):
        return error_response("conflict", str(exc) or "State changed concurrently", {}, 409)
    if isinstance(exc, RequestDataTooBig):
        return error_response("too_large", "The request body is too large.", {}, 413)
    if isinstance(exc, SuspiciousOperation):
        # TooManyFieldsSent, TooManyFilesSent and the like, met while parsing.
        return error_response("invalid", str(exc) or "Bad request.", {}, 400)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "; ".join(
            f"{field}: {' '.join(errors)}" if field != "non_field_errors" else " ".join(errors)
            for field, errors in fields.items()
        )
        return error_response("invalid", message or "Invalid input.", {"fields": fields}, 400)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    message = str(detail) if detail is not None else str(exc)
    new = error_response(str(code), message, {}, response.status_code)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            new[header] = response[header]
    return new
