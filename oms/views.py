import threading

from django.shortcuts import render
from drf_spectacular.views import SpectacularAPIView


def home(request):
    return render(request, "home.html")


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
