from django.urls import path

from . import refunds, views, wizard

app_name = "console"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("", views.search, name="search"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/contacts/", views.contact_add, name="contact_add"),
    path("orders/<str:number>/return/", wizard.wizard, name="wizard"),
    path("returns/<str:rma>/", views.return_detail, name="return"),
    path("returns/<str:rma>/approve/", views.return_approve_view, name="approve"),
    path("returns/<str:rma>/reject/", views.return_reject_view, name="reject"),
    path("returns/<str:rma>/modify/", views.return_modify, name="modify"),
    path("returns/<str:rma>/root-cause/", views.return_root_cause, name="root_cause"),
    path("returns/<str:rma>/events/", views.return_event, name="event"),
    path("queues/", views.queues, name="queues"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("refunds/", refunds.refund_queue, name="refunds"),
    path("refunds/<int:refund_id>/retry/", refunds.refund_retry_view, name="refund_retry"),
]
