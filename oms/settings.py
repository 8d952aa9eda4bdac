"""One settings module.

With no environment at all it runs embedded: SQLite in ``var/``, Celery over
kombu's filesystem transport in ``var/celery/``, email to the console.
``DATABASE_URL`` switches to PostgreSQL, ``CELERY_BROKER_URL`` to Redis.
``OMS_ENV=production`` requires ``SECRET_KEY`` and ``ALLOWED_HOSTS`` and turns on
the settings that ``manage.py check --deploy`` asks for.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("OMS_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("OMS_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("OMS_ENV=production needs SECRET_KEY (50+ characters).")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("OMS_ENV=production needs ALLOWED_HOSTS.")
else:
    SECRET_KEY = os.environ.get(
        "SECRET_KEY", "dev-only-insecure-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _payout_keys() -> list[str]:
    """Fernet keys for payout details at rest (``oms.crypto``), first one
    encrypting. Production must set ``OMS_PAYOUT_KEY``; elsewhere a missing key
    is derived from SECRET_KEY so ``make run`` works with no environment."""
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    keys = env_list("OMS_PAYOUT_KEY")
    if not keys:
        if PRODUCTION:
            raise ImproperlyConfigured(
                "OMS_ENV=production needs OMS_PAYOUT_KEY (a Fernet key: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
            )
        digest = hashlib.sha256(b"oms-payout-details:" + SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError as exc:
            raise ImproperlyConfigured(
                "OMS_PAYOUT_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated."
            ) from exc
    return keys


OMS_PAYOUT_KEYS = _payout_keys()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oms",
    "inventory",
    "orders",
    "returns",
    "refunds",
    "sla",
    "intake",
    "portal",
    "console",
    "quality",
    "couriers",
    "demo",
]

MIDDLEWARE = [
    # First: refuses a NUL in the path or query and an oversized body before
    # anything reads it, and keeps /api/ errors in the JSON shape.
    "oms.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Persistent connections: a request reuses its thread's connection for
# CONN_MAX_AGE seconds instead of opening one (on PostgreSQL, a connection
# costs about as much as a short request). CONN_HEALTH_CHECKS makes Django
# check a reused connection once per request before using it, so a database
# restart costs one failed check, not a failed request. 0 = one connection per
# request.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=env_bool("CONN_HEALTH_CHECKS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that polls the idle socket before
    # it sends SELECT 1 (oms/db/postgresql/base.py)
    DATABASES["default"]["ENGINE"] = "oms.db.postgresql"
# On PostgreSQL, the hot reads and inserts (oms.prepared) are prepared on the
# server once per connection and then EXECUTEd. Off for a pooler in
# transaction mode that cannot keep a session's prepared statements.
OMS_PG_PREPARE = env_bool("OMS_PG_PREPARE", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the Celery worker share
    # the file without "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-in"
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Kolkata")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# Evidence photos go through the default storage: files under MEDIA_ROOT, or
# any S3-compatible store with OMS_MEDIA_STORAGE=s3 (needs django-storages and
# its AWS_* settings, e.g. AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL).
STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if os.environ.get("OMS_MEDIA_STORAGE") == "s3"
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Bad input ----------------------------------------------------------------
# A multipart body (photo uploads) larger than this is refused with 413 from its
# Content-Length, before it is read; any other body is held to Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) the same way.
OMS_MAX_UPLOAD_BYTES = int(os.environ.get("OMS_MAX_UPLOAD_BYTES", str(32 * 1024 * 1024)))
# Photos larger than this many pixels are refused (decompression bombs).
OMS_MAX_IMAGE_PIXELS = int(os.environ.get("OMS_MAX_IMAGE_PIXELS", str(50_000_000)))
# An order (API or channel intake) with more units than this is refused.
OMS_MAX_UNITS_PER_ORDER = int(os.environ.get("OMS_MAX_UNITS_PER_ORDER", "5000"))
# JSON bodies nested deeper than this are refused with 400.
OMS_MAX_JSON_DEPTH = int(os.environ.get("OMS_MAX_JSON_DEPTH", "32"))

# Where customers reach the portal: emails link to <OMS_PUBLIC_URL>/returns/r/<rma>/.
OMS_PUBLIC_URL = os.environ.get("OMS_PUBLIC_URL", "http://localhost:8000").rstrip("/")

LOGIN_URL = "/console/login/"
LOGIN_REDIRECT_URL = "/console/"

# --- Couriers (couriers/, README "Couriers") ----------------------------------
# With an email and a password every channel books pickups and shipments
# through Shiprocket (unless the channel says "courier": "manual"); without
# them every channel is manual and nothing is called.
SHIPROCKET_EMAIL = os.environ.get("SHIPROCKET_EMAIL", "")
SHIPROCKET_PASSWORD = os.environ.get("SHIPROCKET_PASSWORD", "")
SHIPROCKET_BASE_URL = os.environ.get("SHIPROCKET_BASE_URL", "https://apiv2.shiprocket.in")
SHIPROCKET_WEBHOOK_TOKEN = os.environ.get("SHIPROCKET_WEBHOOK_TOKEN", "")
SHIPROCKET_CONNECT_TIMEOUT = float(os.environ.get("SHIPROCKET_CONNECT_TIMEOUT", "5"))
SHIPROCKET_READ_TIMEOUT = float(os.environ.get("SHIPROCKET_READ_TIMEOUT", "20"))
SHIPROCKET_MAX_ATTEMPTS = int(os.environ.get("SHIPROCKET_MAX_ATTEMPTS", "3"))
SHIPROCKET_RETRY_BACKOFF = float(os.environ.get("SHIPROCKET_RETRY_BACKOFF", "0.5"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "returns@oms.local")

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# One queue name per deployment (tests give each real worker its own).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict = {
    "outbox-flush": {"task": "orders.tasks.outbox_flush_task", "schedule": 60.0},
    "sla-sweep": {"task": "sla.tasks.sla_sweep_task", "schedule": 60.0},
    # Store credit past its policy's validity (refunds.wallet); idempotent.
    "store-credit-expiry": {
        "task": "refunds.tasks.wallet_expire_due_task",
        "schedule": float(os.environ.get("OMS_STORE_CREDIT_EXPIRY_SECONDS", "3600")),
    },
    # Refunds a gateway accepted but never reported on (a lost webhook).
    "refund-poll": {
        "task": "refunds.tasks.refunds_poll_processing_task",
        "schedule": float(os.environ.get("OMS_REFUND_POLL_SECONDS", "900")),
    },
    "job-sweep": {
        "task": "oms.tasks.job_sweep_task",
        "schedule": float(os.environ.get("OMS_JOB_SWEEP_SECONDS", "20")),
    },
}
# Queued work is a database row (oms.jobs): a job still pending this long
# after it was due or started is published again by the sweep, so work whose
# message or worker was lost runs within lease + sweep interval (< 2 minutes).
OMS_JOB_LEASE_SECONDS = float(os.environ.get("OMS_JOB_LEASE_SECONDS", "90"))
# Test hook: seconds the built-in offline refund gateway waits before it
# records a refund, to stand in for a slow payment gateway. Ignored in production.
# Recoveries (amounts a customer owes back) whose tender cannot be charged are
# collected by a payment link: the brand's payment page, with {reference},
# {amount} and {currency} filled in (e.g. a Razorpay or Stripe payment page).
OMS_RECOVERY_PAYMENT_LINK_URL = os.environ.get(
    "OMS_RECOVERY_PAYMENT_LINK_URL",
    "http://localhost:8000/pay/{reference}?amount={amount}&currency={currency}",
)
OMS_OFFLINE_GATEWAY_DELAY = (
    0.0 if PRODUCTION else float(os.environ.get("OMS_OFFLINE_GATEWAY_DELAY", "0"))
)
# Payment gateways (refunds.gateways): a refund against a tender paid through
# Razorpay or Stripe goes back through that provider's SDK; unset keys leave
# the offline gateway as the only one (such tenders then fail clearly).
RAZORPAY_KEY_ID = os.environ.get("RAZORPAY_KEY_ID", "")
RAZORPAY_KEY_SECRET = os.environ.get("RAZORPAY_KEY_SECRET", "")
RAZORPAY_WEBHOOK_SECRET = os.environ.get("RAZORPAY_WEBHOOK_SECRET", "")
RAZORPAY_BASE_URL = os.environ.get("RAZORPAY_BASE_URL", "") or "https://api.razorpay.com"
STRIPE_API_KEY = os.environ.get("STRIPE_API_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "") or "https://api.stripe.com"
# A refund still processing this long after it was made is asked for its
# status by the refund-poll beat task (a webhook may have been lost).
OMS_REFUND_POLL_AFTER_SECONDS = float(os.environ.get("OMS_REFUND_POLL_AFTER_SECONDS", "1800"))
OMS_REFUND_POLL_BUDGET_SECONDS = float(os.environ.get("OMS_REFUND_POLL_BUDGET_SECONDS", "120"))
# Seconds a gateway call may take before it counts as a timeout (retried).
OMS_GATEWAY_TIMEOUT = float(os.environ.get("OMS_GATEWAY_TIMEOUT", "20"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("out", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "out"),
        "data_folder_out": str(_celery_dir / "out"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, one client kept per channel (oms/broker.py)
    CELERY_BROKER_TRANSPORT = "oms.broker:Transport"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Cache ---------------------------------------------------------------------
# Shared by every process (the portal's lookup and code limits count here, so
# three gunicorn workers or a restart do not multiply them): Redis when
# CACHE_URL (or, failing that, CELERY_BROKER_URL) is a redis:// URL, else the
# database (table ``oms_cache``, created by portal's migration 0002).
CACHE_URL = os.environ.get("CACHE_URL", "")
_cache_redis = next(
    (u for u in (CACHE_URL, CELERY_BROKER_URL) if u.startswith(("redis://", "rediss://"))), ""
)
if CACHE_URL and not _cache_redis:
    raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL.")
CACHES = {
    "default": {
        "BACKEND": "oms.cache.RedisCache",
        "LOCATION": _cache_redis,
        "KEY_PREFIX": "oms",
    }
    if _cache_redis
    else {"BACKEND": "oms.cache.DatabaseCache", "LOCATION": "oms_cache", "KEY_PREFIX": "oms"}
}

# --- Outbound webhooks -------------------------------------------------------------
# Private, loopback and link-local webhook targets (169.254.169.254, localhost,
# 10.x) are refused in production; allowed by default elsewhere, so a storefront
# on the same machine works in development.
OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS = env_bool(
    "OMS_ALLOW_PRIVATE_WEBHOOK_TARGETS", default=not PRODUCTION
)

# Inbound platform webhooks whose signed timestamp (the body's updated_at /
# date_modified_gmt; Shopify's X-Shopify-Triggered-At too) is older than this
# many seconds are refused as replays; 0 turns the check off. 48 h covers
# Shopify's retries (8 over 4 hours; 19 over 48 hours before 2024) and its
# "rarely up to a day late" deliveries; inside it, redeliveries are deduped by
# webhook id and stale updates are ignored by updated_at.
OMS_WEBHOOK_REPLAY_WINDOW = int(os.environ.get("OMS_WEBHOOK_REPLAY_WINDOW", str(48 * 3600)))

# --- Clients and limits -----------------------------------------------------------
# The header a trusted reverse proxy sets to the client's address, e.g.
# X-Forwarded-For or X-Real-IP. Unset: REMOTE_ADDR, and any such header a
# client sends is ignored. OMS_TRUSTED_PROXY_COUNT: how many proxies of yours
# append to X-Forwarded-For (the client is that many entries from the right).
OMS_TRUSTED_PROXY_HEADER = os.environ.get("OMS_TRUSTED_PROXY_HEADER", "").strip()
OMS_TRUSTED_PROXY_COUNT = max(int(os.environ.get("OMS_TRUSTED_PROXY_COUNT", "1")), 1)
# Portal: lookups per client address, and per (order, address), in 10 minutes;
# one-time-code tries per address in 10 minutes (each code also allows 5 tries).
OMS_PORTAL_LOOKUPS_PER_IP = int(os.environ.get("OMS_PORTAL_LOOKUPS_PER_IP", "5"))
OMS_PORTAL_LOOKUPS_PER_ORDER_IP = int(os.environ.get("OMS_PORTAL_LOOKUPS_PER_ORDER_IP", "5"))
OMS_PORTAL_CODE_TRIES_PER_IP = int(os.environ.get("OMS_PORTAL_CODE_TRIES_PER_IP", "20"))

# --- REST API -----------------------------------------------------------------
# Seconds an API key that authenticated is remembered (its row, user and
# permissions) in the shared cache; revoking a key takes effect at once, a
# role's changed permissions within this time. 0 = read them on every request.
OMS_API_KEY_CACHE_SECONDS = int(os.environ.get("OMS_API_KEY_CACHE_SECONDS", "30"))
# Seconds each process keeps the current return policy, the active return
# reasons and a policy version's SLA rules (oms/config_cache.py); a change
# applies at once in the process that made it, in the others within this.
# 0 = read them on every return.
OMS_CONFIG_CACHE_SECONDS = float(os.environ.get("OMS_CONFIG_CACHE_SECONDS", "5"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oms.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["oms.permissions.RequiredPermissions"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "oms.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "oms.schema.AutoSchema",
    "EXCEPTION_HANDLER": "oms.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "oms.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "oms.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": (
        "Order management for partial returns, exchanges and refusals. "
        "Authenticate with `Authorization: Bearer <key>` (see `manage.py create_api_key`). "
        "Every error has the shape {code, message, extra}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request bodies are documented as JSON: the nested bodies cannot be sent
    # as forms. Views that take files name multipart/form-data themselves.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
