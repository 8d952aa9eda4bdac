"""``?limit=&offset=`` paging for list endpoints: ``{count, next, previous, results}``.

DRF's own class quietly falls back to the defaults for a limit or offset that
is not a whole number; this one refuses it with 400 (the one error shape), as
the schema documents, and refuses values too large for the database.
"""

from __future__ import annotations

from rest_framework import pagination, serializers

LARGEST = 2**31 - 1


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    # A huge ?limit= is capped here rather than reaching the database.
    max_limit = 1000
    bounds = {"limit": (1, LARGEST), "offset": (0, LARGEST)}

    def _whole(self, request, name: str, default: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        low, high = self.bounds[name]
        field = serializers.IntegerField(min_value=low, max_value=high)
        try:
            return field.run_validation(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({name: exc.detail}) from exc

    def get_limit(self, request):
        limit = self._whole(request, self.limit_query_param, self.default_limit)
        if limit is not None and self.max_limit:
            return min(limit, self.max_limit)
        return limit

    def get_offset(self, request):
        return self._whole(request, self.offset_query_param, 0)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            low, high = self.bounds[
                "limit" if parameter["name"] == self.limit_query_param else "offset"
            ]
            parameter["schema"].update({"minimum": low, "maximum": high})
        return parameters
