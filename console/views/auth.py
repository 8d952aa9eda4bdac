"""Console sign-in and sign-out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ..forms import (
    ConsoleLoginForm,
)


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = ConsoleLoginForm
    redirect_authenticated_user = False


@require_POST
def logout(request):
    from django.contrib.auth import logout as auth_logout

    auth_logout(request)
    return redirect("console:login")
