"""Who may use the console, and which permission each page or action needs."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse

from orders.events import EventActor
from orders.states import Actor

from .forms import is_console_user


def forbidden(request, message: str = "You do not have permission for this."):
    return render(request, "console/403.html", {"message": message}, status=403)


def console_view(perm: str | None = None):
    """Anonymous → login page; not a console user or lacking ``perm`` → 403."""

    def deco(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("console:login"))
            if not is_console_user(user):
                return forbidden(request, "This account cannot use the agent console.")
            if perm and not user.has_perm(perm):
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapped

    return deco


def staff_actor(request) -> EventActor:
    return EventActor(kind=Actor.STAFF, user=request.user, label=request.user.get_username())
