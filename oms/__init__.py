"""Project package: settings, URLs, the Celery app, money and API plumbing."""

from .celery import app as celery_app

__all__ = ["celery_app"]
