"""OpenAPI schema details.

Views keep their serializers nested (``OrderCreateApi.Input``), so component
names come from the qualified name (``OrderCreateApiInput``) and never clash.

Every operation documents the errors it can answer with, in the one error shape
(``oms.errors.ErrorSerializer``): 400 for any request (a body or a query string
Django or DRF refuses), 401/403 where an API key is needed, 404 where the path
names a record, and 413/415 where there is a request body. A view's own
``responses`` win; these only fill the gaps.
"""

import math

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input; the message names the field.",
    "401": "No valid API key.",
    "403": "The key's role lacks the permission.",
    "404": "Not found.",
    "413": "The request body is over the size limit.",
    "415": "The request body is not in a supported media type.",
}


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)

    def _needs_api_key(self) -> bool:
        if not self.view.get_authenticators():
            return False
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _error_codes(self) -> list[str]:
        codes = ["400"]
        if self._needs_api_key():
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                    code,
                    direction=direction,
                )
        return dict(sorted(responses.items()))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            isinstance(field, serializers.ListSerializer | serializers.ListField)
            and not field.allow_empty
            and schema.get("type") == "array"
        ):
            # allow_empty=False refuses [], as min_length=1 does.
            schema.setdefault("minItems", 1)
        if (
            isinstance(field, serializers.DecimalField)
            and schema.get("type") == "string"
            and field.max_whole_digits is not None
        ):
            # drf-spectacular's pattern also matches "" and "-", which DRF refuses.
            # At least one digit; no sign when the field refuses negatives; not
            # zero when it must be positive.
            low = field.min_value
            sign = "" if low is not None and low >= 0 else "-?"
            not_zero = r"(?!0*\.?0*$)" if low is not None and low > 0 else ""
            whole, places = field.max_whole_digits, field.decimal_places
            fraction = rf"(?:\.[0-9]{{0,{places}}})?"
            numbers = rf"[0-9]{{1,{whole}}}{fraction}"
            high = field.max_value
            if high is not None and 0 < high < 10**whole and math.log10(high).is_integer():
                # At most 10^k (a rate of at most 100): up to k digits, or 10^k itself.
                digits = int(math.log10(high))
                numbers = rf"{int(high)}(?:\.0{{0,{places}}})?|[0-9]{{1,{digits}}}{fraction}"
            schema["pattern"] = rf"^{not_zero}{sign}(?:{numbers}|\.[0-9]{{1,{places}}})$"
        return schema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "oms.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key NAME --role ROLE`.",
        }
