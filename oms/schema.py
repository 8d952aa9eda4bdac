"""OpenAPI schema details.

Views keep their serializers nested (``OrderCreateApi.Input``), so component
names come from the qualified name (``OrderCreateApiInput``) and never clash.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "")
        return super().get_serializer_name(serializer, direction)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "oms.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key NAME --role ROLE`.",
        }
