from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from demo import views as demo_views
from intake import apis as intake_apis
from inventory import apis as inventory_apis
from orders import apis as order_apis
from quality import apis as quality_apis
from refunds import apis as refund_apis
from refunds import wallet_apis
from refunds.apis import finance as finance_apis
from refunds.apis import payouts as payout_apis
from returns import apis as return_apis
from sla import apis as sla_apis

from . import views

api_v1 = [
    path("orders/", order_apis.OrderCreateApi.as_view(), name="orders"),
    path("orders/<str:number>/", order_apis.OrderDetailApi.as_view(), name="order-detail"),
    path(
        "orders/<str:number>/timeline/",
        order_apis.OrderTimelineApi.as_view(),
        name="order-timeline",
    ),
    path(
        "orders/<str:number>/shipments/",
        order_apis.ShipmentCreateApi.as_view(),
        name="order-shipments",
    ),
    path(
        "orders/<str:number>/cancel/",
        order_apis.OrderCancelApi.as_view(),
        name="order-cancel",
    ),
    path(
        "shipments/<int:shipment_id>/delivered/",
        order_apis.ShipmentDeliveredApi.as_view(),
        name="shipment-delivered",
    ),
    path(
        "orders/<str:number>/returnable/",
        return_apis.ReturnableApi.as_view(),
        name="order-returnable",
    ),
    path("orders/<str:number>/ledger/", refund_apis.OrderLedgerApi.as_view(), name="order-ledger"),
    path("returns/", return_apis.ReturnCreateApi.as_view(), name="returns"),
    path("returns/quote/", return_apis.QuoteApi.as_view(), name="returns-quote"),
    path("returns/<str:rma>/", return_apis.ReturnDetailApi.as_view(), name="return-detail"),
    path("returns/<str:rma>/events/", return_apis.ReturnEventApi.as_view(), name="return-events"),
    path(
        "returns/<str:rma>/approve/", return_apis.ReturnApproveApi.as_view(), name="return-approve"
    ),
    path("returns/<str:rma>/reject/", return_apis.ReturnRejectApi.as_view(), name="return-reject"),
    path("returns/<str:rma>/evidence/", quality_apis.EvidenceApi.as_view(), name="return-evidence"),
    path(
        "returns/<str:rma>/inspections/",
        quality_apis.InspectionApi.as_view(),
        name="return-inspections",
    ),
    path(
        "repairs/<int:repair_id>/events/",
        quality_apis.RepairEventApi.as_view(),
        name="repair-events",
    ),
    path("defect-patterns/", quality_apis.DefectPatternApi.as_view(), name="defect-patterns"),
    path("quality/report.csv", quality_apis.QualityReportCsvApi.as_view(), name="quality-report"),
    path("refunds/", refund_apis.RefundListApi.as_view(), name="refunds"),
    path(
        "store-credit/redemptions/",
        wallet_apis.RedemptionApi.as_view(),
        name="store-credit-redemptions",
    ),
    path(
        "store-credit/<str:email>/",
        wallet_apis.StoreCreditDetailApi.as_view(),
        name="store-credit",
    ),
    path(
        "store-credit/<str:email>/goodwill/",
        wallet_apis.GoodwillApi.as_view(),
        name="store-credit-goodwill",
    ),
    path("sla/legs/", sla_apis.LegListApi.as_view(), name="sla-legs"),
    path(
        "refunds/<int:refund_id>/retry/", refund_apis.RefundRetryApi.as_view(), name="refund-retry"
    ),
    path("recoveries/", refund_apis.RecoveryListApi.as_view(), name="recoveries"),
    path(
        "recoveries/<int:recovery_id>/collected/",
        refund_apis.RecoveryCollectedApi.as_view(),
        name="recovery-collected",
    ),
    path(
        "recoveries/<int:recovery_id>/write-off/",
        refund_apis.RecoveryWriteOffApi.as_view(),
        name="recovery-write-off",
    ),
    path("payouts/", payout_apis.PayoutListApi.as_view(), name="payouts"),
    path("payouts/export.csv", payout_apis.PayoutExportApi.as_view(), name="payouts-export"),
    path("payouts/<int:payout_id>/paid/", payout_apis.PayoutPaidApi.as_view(), name="payout-paid"),
    path(
        "payouts/<int:payout_id>/failed/",
        payout_apis.PayoutFailedApi.as_view(),
        name="payout-failed",
    ),
    path(
        "returns/<str:rma>/payout-details/",
        payout_apis.PayoutDetailsApi.as_view(),
        name="return-payout-details",
    ),
    path("credit-notes/", finance_apis.CreditNoteListApi.as_view(), name="credit-notes"),
    path(
        "credit-notes/<str:number>/",
        finance_apis.CreditNoteDetailApi.as_view(),
        name="credit-note",
    ),
    path("finance/export.csv", finance_apis.FinanceExportApi.as_view(), name="finance-export"),
    path("skus/<str:code>/", inventory_apis.SkuUpsertApi.as_view(), name="sku"),
    path("locations/<slug:code>/", inventory_apis.LocationUpsertApi.as_view(), name="location"),
    path("stock/", inventory_apis.StockListApi.as_view(), name="stock"),
    path(
        "stock/adjustments/", inventory_apis.StockAdjustmentApi.as_view(), name="stock-adjustments"
    ),
    path(
        "stock/dispositions/",
        inventory_apis.StockDispositionApi.as_view(),
        name="stock-dispositions",
    ),
    path("channels/<str:code>/", intake_apis.ChannelUpsertApi.as_view(), name="channel"),
    path("webhooks/razorpay/", refund_apis.RazorpayWebhookApi.as_view(), name="webhook-razorpay"),
    path("webhooks/stripe/", refund_apis.StripeWebhookApi.as_view(), name="webhook-stripe"),
    path(
        "webhooks/shopify/<str:channel>/",
        intake_apis.ShopifyWebhookApi.as_view(),
        name="webhook-shopify",
    ),
    path(
        "webhooks/woocommerce/<str:channel>/",
        intake_apis.WooCommerceWebhookApi.as_view(),
        name="webhook-woocommerce",
    ),
    path(
        "webhooks/couriers/shiprocket/",
        intake_apis.ShiprocketWebhookApi.as_view(),
        name="webhook-courier-shiprocket",
    ),
    path("dead-letters/", intake_apis.DeadLetterListApi.as_view(), name="dead-letters"),
    path(
        "dead-letters/<int:delivery_id>/replay/",
        intake_apis.DeadLetterReplayApi.as_view(),
        name="dead-letter-replay",
    ),
]

urlpatterns = [
    path("", demo_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("returns/", include("portal.urls")),
    path("console/qc/", include("quality.urls")),
    path("console/", include("console.urls")),
    path("healthz", intake_apis.healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]),
        name="api-docs",
    ),
]

handler400 = "oms.views.bad_request"
handler403 = "oms.views.permission_denied"
handler404 = "oms.views.page_not_found"
handler500 = "oms.views.server_error"
