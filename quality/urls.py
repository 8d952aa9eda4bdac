"""The QC screen of the console, mounted at /console/qc/."""

from django.urls import path

from . import views

app_name = "quality"

urlpatterns = [
    path("<str:rma>/", views.qc_screen, name="qc"),
]
