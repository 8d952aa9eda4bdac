"""Test-only URLconf: the real one plus views that fail, to see the 500s."""

from django.urls import path
from rest_framework.views import APIView

from oms.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def plain_boom(request):
    raise RuntimeError("boom (plain Django view)")


class DrfBoom(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request):
        raise RuntimeError("boom (DRF view)")


urlpatterns = [
    path("api/v1/boom/", plain_boom),
    path("api/v1/drf-boom/", DrfBoom.as_view()),
    path("console/boom/", plain_boom),
    *urlpatterns,
]
