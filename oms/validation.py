"""Bounds that keep API input inside what the database columns hold, so a
value too large is a 400 naming the field, never a database error (500)."""

from __future__ import annotations

from rest_framework import serializers

# A primary key (BigAutoField): 1 .. 2**63 - 1.
MAX_ID = 2**63 - 1


def IdField(**kwargs) -> serializers.IntegerField:
    """An integer id input: positive and within a 64-bit column."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def path_code(value: str, *, max_length: int, name: str) -> str:
    """A code taken from the URL path, refused with 400 when longer than its
    column (PostgreSQL raises on a too-long insert)."""
    if len(value) > max_length:
        raise serializers.ValidationError(
            {name: [f"at most {max_length} characters; got {len(value)}."]}
        )
    return value
