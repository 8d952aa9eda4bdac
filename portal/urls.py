from django.urls import path

from . import payout, views

app_name = "portal"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("verify/", views.verify, name="verify"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("orders/", views.orders, name="orders"),
    path("orders/<str:number>/", views.order, name="order"),
    path("orders/<str:number>/return/", views.return_new, name="return_new"),
    path("orders/<str:number>/quote/", views.quote, name="quote"),
    path("r/<str:rma>/", views.return_status, name="return"),
    path("r/<str:rma>/payout/", payout.payout_details, name="payout_details"),
    path("r/<str:rma>/cancel/", views.return_cancel, name="cancel"),
    path("r/<str:rma>/label.pdf", views.return_label, name="return_label"),
]
