"""The API's JSON parser: DRF's, plus three refusals that would otherwise end
in a 500 further down.

- JSON nested deeper than ``OMS_MAX_JSON_DEPTH`` (Python's parser raises
  ``RecursionError`` long before 100,000 levels; anything that walks the data
  later would too).
- A NUL character in any string or key (PostgreSQL cannot store it in text or
  jsonb).
All answer 400 with code ``invalid`` through the API's exception handler.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def json_problem(data, max_depth: int) -> str | None:
    """Why ``data`` is refused, or None. Iterative, so depth costs no stack."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                return f"JSON nested deeper than {max_depth} levels."
            if isinstance(value, dict):
                for key, item in value.items():
                    if "\x00" in key:
                        return "JSON holds a NUL character (\\u0000)."
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            return "JSON holds a NUL character (\\u0000)."
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(
                f"JSON parse error - nested deeper than {settings.OMS_MAX_JSON_DEPTH} levels."
            ) from exc
        problem = json_problem(data, settings.OMS_MAX_JSON_DEPTH)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
