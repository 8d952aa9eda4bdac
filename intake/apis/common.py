"""What the intake endpoints share: error responses and the ops permission."""

from drf_spectacular.utils import OpenApiResponse

from oms.errors import ErrorSerializer

ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input; the message names the field."
    ),
    401: OpenApiResponse(ErrorSerializer, description="No valid API key or signature."),
    403: OpenApiResponse(ErrorSerializer, description="The key's role lacks the permission."),
    404: OpenApiResponse(ErrorSerializer, description="Not found."),
    409: OpenApiResponse(ErrorSerializer, description="Does not fit the current state."),
}
# Ops-only: the permission that lets a role configure channels also governs
# what their webhooks left behind.
OPS = ["orders.change_channel"]
OUTBOUND_FIELDS = ("outbound_url", "outbound_secret", "outbound_events")
