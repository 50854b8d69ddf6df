"""HITLCrowd settings: one module, every deployment knob read from the environment.

See the configuration table in README.md. A bad value stops start-up with a message naming
the variable (see hitlcrowd/env.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from hitlcrowd.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_previous_keys,
    env_rate,
    env_str,
    env_url,
)
from hitlcrowd.outbound import allow_list_parse

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("HITLCROWD_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is false")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-true"

# Encrypts the secrets the server must read back (MTurk access keys: hitlcrowd/secretbox.py),
# one derived key per purpose. Not SECRET_KEY, so that rotating SECRET_KEY keeps them readable.
# DEBUG: derived from SECRET_KEY when unset. Production: required where it is used (the first
# access key, `check --deploy`), so deployments that never use it start without it.
ENCRYPTION_KEY = env_str("ENCRYPTION_KEY")
if ENCRYPTION_KEY is not None and len(ENCRYPTION_KEY) < 32:
    raise ImproperlyConfigured("ENCRYPTION_KEY must be at least 32 characters (a random string)")
if ENCRYPTION_KEY is None and DEBUG:
    ENCRYPTION_KEY = f"derived-for-development-only:{SECRET_KEY}"
# Rotation (hitlcrowd/secretbox.py): the keys ENCRYPTION_KEY replaced, newest first, still
# tried when decrypting until `manage.py reencrypt_secrets` has rewritten every secret.
ENCRYPTION_KEYS_PREVIOUS = env_previous_keys(
    "ENCRYPTION_KEYS_PREVIOUS", current=ENCRYPTION_KEY, current_name="ENCRYPTION_KEY", min_length=32
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "hitlcrowd.apps.HitlcrowdAdminConfig",  # django.contrib.admin (hitlcrowd/adminsite.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_q",
    "axes",
    "apps.workers",
    "apps.tasks",
    "apps.models",
    "apps.crowds",
    "apps.panels",
    "apps.mturk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "hitlcrowd.middleware.RefuseOversizedBody",
    "hitlcrowd.middleware.RefuseNul",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hitlcrowd.pages.NotFoundPages",
    # Last, as axes asks: turns a login refused by its backend into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hitlcrowd.urls"
WSGI_APPLICATION = "hitlcrowd.wsgi.application"
ASGI_APPLICATION = "hitlcrowd.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "hitlcrowd" / "templates"],
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

# --- Database -----------------------------------------------------------------------------
_default_database_url = f"sqlite:///{DATA_DIR / 'hitlcrowd.sqlite3'}"
DATABASE_URL = env_url(
    "DATABASE_URL", _default_database_url, schemes=("sqlite", "postgres", "postgresql")
)
try:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.sqlite3":
    if _database["NAME"] not in ("", ":memory:"):
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the web server and the qcluster share the file
    # without "database is locked" errors on the first write of a transaction.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _database["CONN_HEALTH_CHECKS"] = True
# No statement and no open transaction holds a PostgreSQL connection forever (see hitlcrowd/db.py
# for the work that runs longer: jobs, migrations, the upload's COPY). 0 turns a limit off.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 60_000, minimum=0)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000, minimum=0)
# The COPY of an upload lasts as long as its body takes to arrive (512 MB at 300 kB/s: 30 min).
DB_UPLOAD_STATEMENT_TIMEOUT_MS = env_int("DB_UPLOAD_STATEMENT_TIMEOUT_MS", 1_800_000, minimum=0)
if _database["ENGINE"] != "django.db.backends.sqlite3":
    _timeouts = (
        f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} "
        f"-c idle_in_transaction_session_timeout={DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
    )
    _options = _database.setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} {_timeouts}".strip()
DATABASES = {"default": _database}
# The worker hot path (next task, submit, token check) prepares its fixed statements on
# PostgreSQL (hitlcrowd/rawrows.py). Turn off behind a pooler that cannot keep them, such as
# PgBouncer in transaction mode before 1.21.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "workers.User"
# The lockout check first: a locked-out attempt never reaches the password hasher
# (hitlcrowd/lockout.py).
AUTHENTICATION_BACKENDS = [
    "hitlcrowd.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "hitlcrowd" / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"

# --- Uploads ------------------------------------------------------------------------------
# A batch body above this many bytes gets 413 before it is read to the end.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1)
UPLOAD_MAX_ROWS = env_int("UPLOAD_MAX_ROWS", 2_000_000, minimum=1)
# Rows validated and inserted per database round trip while importing a batch.
UPLOAD_CHUNK_ROWS = env_int("UPLOAD_CHUNK_ROWS", 5_000, minimum=1)
# One row (a CSV row, a JSON line, a JSON array element) is never read whole past this.
UPLOAD_MAX_LINE_BYTES = env_int("UPLOAD_MAX_LINE_BYTES", 4 * 1024 * 1024, minimum=1)
UPLOAD_MAX_COLUMNS = env_int("UPLOAD_MAX_COLUMNS", 1_000, minimum=1)
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR")
# Multipart parts above this are spooled to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- The MTurk-compatible API (apps/mturk) -----------------------------------------------------
# A request body to /mturk/ declared larger than this is refused unread (MTurk's largest input,
# a 128 KB question, fits several times over).
MTURK_MAX_BODY_BYTES = env_int("MTURK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Requests to /mturk/ per requester, all their keys together (apps/mturk/endpoint.py); past it
# ThrottlingException, which boto3 retries with backoff. The REST API's role throttles do not
# apply there. Counted in the default cache, as API_THROTTLE_* (per process without Redis).
MTURK_RATE_PER_REQUESTER = env_rate("MTURK_RATE_PER_REQUESTER", "100/s")

# --- Clients behind proxies ---------------------------------------------------------------
# How many proxies in front append to X-Forwarded-For; 0: the header is ignored and the client
# is the socket's address (hitlcrowd/clientip.py).
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)

# --- Login lockout (django-axes, hitlcrowd/lockout.py) -----------------------------------------
# Failed logins per account and, separately, per client address within the cool-off; at the
# limit both are refused until the cool-off has passed since the last attempt.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "hitlcrowd.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "hitlcrowd.lockout.lockout_response"
# A success must not clear the address's count (an attacker would log in to their own account
# between guesses); successful logins are not logged (a row per token login, never pruned).
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no banner on every manage.py command

# --- Quality control ------------------------------------------------------------------------
# Automatic blocks are decided when a worker's answers on a project (after its qualification
# test) reach a multiple of this, on exactly those answers: a block then never tells the
# worker which answer tipped it (apps/workers/reliability.py).
BLOCK_CHECK_EVERY = env_int("BLOCK_CHECK_EVERY", 10, minimum=1)
# One more check this many answers before the second multiple (the 16th answer): the worker
# keeps answering while the consensus job that decides a check runs, so a block decided at
# the 20th answer landed after the 21st-22nd; decided at the 16th it lands by the 20th
# (docs/benchmarks-blocking.md). 0: no such check.
BLOCK_CHECK_LEAD = env_int("BLOCK_CHECK_LEAD", 4, minimum=0)

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.workers.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only, through hitlcrowd/jsoncheck.py's limits (see hitlcrowd/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["hitlcrowd.parsers.JSONParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "hitlcrowd.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": ["hitlcrowd.throttling.RoleRateThrottle"],
    # DRF's own reading of X-Forwarded-For, kept equal to hitlcrowd/clientip.py's.
    "NUM_PROXIES": PROXY_COUNT,
}
# Requests per client and window, by role (hitlcrowd/throttling.py); "off" for none. Workers'
# default is well above the measured hot path (~50 requests/s per worker account with 16
# workers at ~380 round trips/s); anonymous covers the token login (with the lockout below).
API_THROTTLE_RATES = {
    "anon": env_rate("API_THROTTLE_ANON", "60/min"),
    "worker": env_rate("API_THROTTLE_WORKER", "6000/min"),
    "requester": env_rate("API_THROTTLE_REQUESTER", "1200/min"),
    "admin": env_rate("API_THROTTLE_ADMIN", "6000/min"),
}
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 24 * 30, minimum=1)),
    "AUTO_REFRESH": True,
    # knox's default, spelled out: the refresh UPDATE runs at most once a minute per token,
    # not on every request of the worker loop.
    "MIN_REFRESH_INTERVAL": 60,
    # Live tokens one account may hold; a login past it gets 403 token_limit_reached.
    "TOKEN_LIMIT_PER_USER": env_int("API_TOKEN_LIMIT_PER_USER", 100, minimum=1),
}
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "HITLCrowd API",
    "DESCRIPTION": (
        "Human-in-the-loop labeling: upload items, route the uncertain ones to people, "
        "aggregate their answers, retrain, and need people less over time."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Signed-in users only unless API_DOCS_PUBLIC (hitlcrowd/docs.py); Swagger UI's files from
    # the sidecar package, not a CDN.
    "SERVE_PERMISSIONS": ["hitlcrowd.docs.DocsReaders"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "hitlcrowd.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ItemStateEnum": "apps.tasks.models.Item.State",
        "HITStateEnum": "apps.tasks.models.HIT.State",
        "AssignmentStateEnum": "apps.tasks.models.Assignment.State",
        "BatchStatusEnum": "apps.tasks.models.Batch.Status",
        "MembershipSourceEnum": "apps.crowds.models.Membership.Source",
        "ProjectKindEnum": "apps.tasks.models.Project.Kind",
    },
}

# --- Background jobs (django-q2) -------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
# The API throttles' counters: shared by every web process on Redis, per process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "hitlcrowd",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_TIMEOUT = env_int("Q_TIMEOUT", 600, minimum=1)
# The ORM broker delivers a job again once it has gone this long unacknowledged (its worker
# was killed). It must exceed the timeout, or a slow job is started a second time while still
# running.
Q_RETRY = env_int("Q_RETRY", Q_TIMEOUT + 120, minimum=1)
if Q_RETRY <= Q_TIMEOUT:
    raise ImproperlyConfigured(f"Q_RETRY ({Q_RETRY}) must be larger than Q_TIMEOUT ({Q_TIMEOUT})")
# A job (consensus run, retrain) claimed longer ago than this is dead: the queue kills a job
# at the timeout, and the redelivery after Q_RETRY must find the claim free.
Q_JOB_DEAD_AFTER = timedelta(seconds=Q_TIMEOUT + min(30, (Q_RETRY - Q_TIMEOUT) // 2))
Q_CLUSTER = {
    # Also the job queue's Redis key (django_q:<name>:q): deployments (or test runs) sharing a
    # Redis database need names of their own, or each takes the other's jobs.
    "name": env_str("Q_CLUSTER_NAME", "hitlcrowd"),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Webhooks (callback URLs; hitlcrowd/outbound.py, apps/models/services/webhooks.py) --------
# Connect + send + the receiver's status line, in all; the response body is never read.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
# Hostnames or CIDR networks that callbacks may reach although they are not public (on-premise
# receivers). Empty: public addresses only.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
allow_list_parse(WEBHOOK_ALLOWED_HOSTS, variable="WEBHOOK_ALLOWED_HOSTS")
# Deliveries in flight at once, over all qclusters: each holds a django-q2 worker for up to
# the timeout, so keep this below Q_WORKERS or slow receivers starve aggregation and training.
WEBHOOK_MAX_CONCURRENT = env_int("WEBHOOK_MAX_CONCURRENT", 1, minimum=1)

# --- Email (hitlcrowd/mail.py) ----------------------------------------------------------------
# Password resets and address checks go out by email. EMAIL_BACKEND: `console` (printed to the
# web process's output: development), `smtp`, or `none` (nothing is sent, and the pages that
# would send say so). Unset: `console` with DEBUG (`make run`), `none` otherwise, so that a
# production deployment never sends mail it was not told how to send.
EMAIL_DELIVERY = env_choice(
    "EMAIL_BACKEND", "console" if DEBUG else "none", ("console", "smtp", "none")
)
EMAIL_BACKEND = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "none": "django.core.mail.backends.dummy.EmailBackend",
}[EMAIL_DELIVERY]
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
# STARTTLS on the submission port (587) by default; EMAIL_USE_SSL for implicit TLS (465).
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
# A send holds the web request that makes it: an SMTP server that does not answer must not
# hold it for the socket's default (forever).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "HITLCrowd <hitlcrowd@localhost>")
if EMAIL_DELIVERY == "smtp":
    if env_str("EMAIL_HOST") is None:
        raise ImproperlyConfigured("EMAIL_HOST is required when EMAIL_BACKEND is 'smtp'")
    if env_str("DEFAULT_FROM_EMAIL") is None:
        raise ImproperlyConfigured(
            "DEFAULT_FROM_EMAIL is required when EMAIL_BACKEND is 'smtp' (the sender address "
            "your mail server accepts, e.g. 'HITLCrowd <labels@example.org>')"
        )
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Password reset requests, by client address and by the address asked for (hitlcrowd/mail.py):
# the form cannot be used to flood someone's inbox. `off` for no limit.
PASSWORD_RESET_RATE_PER_CLIENT = env_rate("PASSWORD_RESET_RATE_PER_CLIENT", "10/hour")
PASSWORD_RESET_RATE_PER_EMAIL = env_rate("PASSWORD_RESET_RATE_PER_EMAIL", "3/hour")

# --- Sign-up (apps/workers/signup.py) -----------------------------------------------------------
# Who may make a worker account: `open` (anyone), `invite` (only with a live invite link, which
# also joins its group) or `closed` (admins make accounts). Unset: `open` with DEBUG (`make run`,
# the demo), `invite` otherwise: a production deployment does not take strangers unless told.
WORKER_SIGNUP = env_choice(
    "WORKER_SIGNUP", "open" if DEBUG else "invite", ("open", "invite", "closed")
)
# Requesters spend money and upload data: made by admins unless this is `open`.
REQUESTER_SIGNUP = env_choice("REQUESTER_SIGNUP", "closed", ("closed", "open"))
# Sign-up attempts per client address (page and API alike, each counted, whatever its outcome).
SIGNUP_RATE_PER_CLIENT = env_rate("SIGNUP_RATE_PER_CLIENT", "10/hour")
# Requests for a new email verification link (apps/workers/signup.py), per client address
# (past it: 429) and per address asked for (past it nothing more is sent; the answer is the same).
VERIFY_EMAIL_RATE_PER_CLIENT = env_rate("VERIFY_EMAIL_RATE_PER_CLIENT", "10/hour")
VERIFY_EMAIL_RATE_PER_EMAIL = env_rate("VERIFY_EMAIL_RATE_PER_EMAIL", "3/hour")
# New panel identities per client address (apps/panels/web/entry.py): a first visit to a panel
# entry link makes a worker account, so a script must not make them at will. A participant who
# comes back is not counted. Raise it for a lab whose participants share one address.
PANEL_ENTRY_RATE_PER_CLIENT = env_rate("PANEL_ENTRY_RATE_PER_CLIENT", "30/hour")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A proxy that terminates TLS says so in X-Forwarded-Proto. Trusted only when configured: with
# gunicorn facing clients, anyone could send the header and pass a plain request as HTTPS.
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", False)
if TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and orchestrators probe the backend over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading asks browser vendors to hard-code HTTPS for the domain (hstspreload.org), hard to
# undo: an opt-in, so its deploy check (W021) is silenced while it is off.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Content-Security-Policy (django-csp): scripts only from our own files, so an injected
# <script> or on* attribute does not run (tests/test_security_headers.py keeps the templates
# free of inline scripts). Inline styles are allowed: matplotlib's inline SVG charts and the
# progress bars' widths use them, and a style cannot run code. Images may come from anywhere
# over http(s): image items are `image_url`s on the requester's servers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "https:", "http:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
