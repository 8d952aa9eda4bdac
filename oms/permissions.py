"""Permission checks declared on each view.

A view sets ``required_permissions = {"GET": [...], "POST": [...]}`` (or a
plain list for every method). No user: 401; a user without them: 403.
"""

from rest_framework.permissions import BasePermission


class RequiredPermissions(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        required = getattr(view, "required_permissions", None)
        if required is None:
            return True
        if isinstance(required, dict):
            required = required.get(request.method, required.get("*", []))
        return request.user.has_perms(required)
