"""The API's pagination: DRF's limit/offset with a ceiling on ``limit``, so a
huge ``?limit=`` is capped instead of reaching the database (PostgreSQL
refuses a LIMIT beyond a bigint: a 500)."""

from __future__ import annotations

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    max_limit = 1000
