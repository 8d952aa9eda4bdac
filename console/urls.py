from django.urls import path

from . import actions, payouts, recoveries, refunds, scan, views, wizard

app_name = "console"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("", views.search, name="search"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/contacts/", views.contact_add, name="contact_add"),
    path("orders/<str:number>/return/", wizard.wizard, name="wizard"),
    path("orders/<str:number>/goodwill/", views.goodwill_grant, name="goodwill"),
    path("returns/<str:rma>/", views.return_detail, name="return"),
    path("returns/<str:rma>/approve/", views.return_approve_view, name="approve"),
    path(
        "returns/<str:rma>/reject/",
        actions.return_confirm,
        {"action": "reject"},
        name="reject",
    ),
    path("returns/<str:rma>/confirm/<str:action>/", actions.return_confirm, name="confirm"),
    path("returns/<str:rma>/dispatch/", actions.exchange_dispatch, name="dispatch"),
    path("returns/<str:rma>/difference/", actions.difference_collect, name="difference"),
    path("returns/<str:rma>/modify/", views.return_modify, name="modify"),
    path("returns/<str:rma>/root-cause/", views.return_root_cause, name="root_cause"),
    path("returns/<str:rma>/events/", views.return_event, name="event"),
    path("returns/<str:rma>/book-pickup/", views.return_book_pickup, name="book_pickup"),
    path("queues/", views.queues, name="queues"),
    path("scan/", scan.scan, name="scan"),
    path("returns/<str:rma>/assign/", views.return_assign, name="assign"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("recoveries/", recoveries.recoveries, name="recoveries"),
    path(
        "recoveries/<int:recovery_id>/collected/",
        recoveries.recovery_collected,
        name="recovery_collected",
    ),
    path(
        "recoveries/<int:recovery_id>/write-off/",
        recoveries.recovery_written_off,
        name="recovery_write_off",
    ),
    path("payouts/", payouts.payouts, name="payouts"),
    path("payouts/<int:payout_id>/paid/", payouts.payout_paid_view, name="payout_paid"),
    path("payouts/<int:payout_id>/failed/", payouts.payout_failed_view, name="payout_failed"),
    path("dashboard/refunds.csv", views.refunds_csv, name="refunds_csv"),
    path("refunds/", refunds.refund_queue, name="refunds"),
    path("refunds/<int:refund_id>/retry/", refunds.refund_retry_view, name="refund_retry"),
]
