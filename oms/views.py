import threading

from django.core.exceptions import RequestDataTooBig
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView

from .middleware import api_error, is_api

# Error handlers (oms/urls.py): under /api/ the one JSON shape
# {"code", "message", "extra"}; elsewhere Django's own pages.


def bad_request(request, exception):
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return api_error(413)
        return api_error(400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if is_api(request):
        return api_error(403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if is_api(request):
        return api_error(404, message=f"No API endpoint or object at {request.path}.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return api_error(500)
    return defaults.server_error(request)


class SchemaView(SpectacularAPIView):
    """/api/schema/, built by one thread at a time.

    drf-spectacular imports its extensions' target classes lazily and not
    thread-safely: two first requests in one threaded worker raced, and one
    answered 500 (AttributeError in ``_load_class``).
    """

    permission_classes = []
    _lock = threading.Lock()

    def _get_schema_response(self, request):
        with self._lock:
            return super()._get_schema_response(request)
