"""Lovkarta settings, read from the environment (django-environ).

The embedded default needs nothing set: SpatiaLite under ``var/``, the local OGC server on
127.0.0.1:8081. Production sets ``LOVKARTA_PRODUCTION=1``, ``DATABASE_URL=postgis://...``,
``SECRET_KEY``, ``ALLOWED_HOSTS`` and, for background work, ``REDIS_URL``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("LOVKARTA_VAR_DIR", default=str(BASE_DIR / "var")))

# Debug pages only when asked for: `make run` (scripts/run.sh) sets LOVKARTA_DEBUG=1.
DEBUG = env.bool("LOVKARTA_DEBUG", default=False)
# The production profile (LOVKARTA_PRODUCTION=1): behind an HTTPS proxy, with a real secret
# and named hosts; each of those fails loudly when missing instead of falling back to a
# development value. `manage.py check --deploy` gives no warnings with it.
LOVKARTA_PRODUCTION = env.bool("LOVKARTA_PRODUCTION", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if LOVKARTA_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("LOVKARTA_DEBUG must be off with LOVKARTA_PRODUCTION=1")
    if (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
            or SECRET_KEY.startswith("django-insecure-")):
        raise ImproperlyConfigured(
            "SECRET_KEY must be a random string of at least 50 characters in production; "
            "make one with: python -c 'from django.core.management.utils import "
            "get_random_secret_key; print(get_random_secret_key())'")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must name the site's host names in production "
            "(comma-separated, e.g. bygglov.sundsvall.se)")
    # The proxy ends TLS and says so in X-Forwarded-Proto (it must overwrite any the
    # client sent); Django redirects plain HTTP and marks its cookies secure.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("LOVKARTA_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("LOVKARTA_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("LOVKARTA_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("LOVKARTA_HSTS_PRELOAD", default=True)
else:
    if not SECRET_KEY:
        # Named so that `check --deploy` flags it (security.W009) wherever it is used.
        SECRET_KEY = "django-insecure-development-key-only-for-the-embedded-demo"  # noqa: S105
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "ninja",
    "geodata",
    "emap",
    "permits",
]
if env.str("LOVKARTA_OIDC_CLIENT_ID", default=""):
    INSTALLED_APPS.append("mozilla_django_oidc")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "emap.csp.MapCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy (django-csp) on every page: scripts and styles only from our own
# static files, nothing inline, no eval. The map scripts are static files configured by
# json_script data (emap); a page with a map adds the origin of its background tiles to
# img-src (emap.csp.MapCSPMiddleware).
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
    "img-src": ["'self'", "data:"], "connect-src": ["'self'"], "object-src": ["'none'"],
    "base-uri": ["'self'"], "form-action": ["'self'"], "frame-ancestors": ["'none'"],
}}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "permits.context_processors.roles",
            ],
        },
    },
]

# Databases: SpatiaLite (embedded default) or PostGIS (production).
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'lovkarta.sqlite3'}"),
}
_engine = DATABASES["default"]["ENGINE"]
if _engine.endswith("spatialite"):
    SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
    # WAL: readers go on reading the last good data while a sync writes its transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;",
         # A transaction takes the write lock when it begins, not at its first write: two
         # that read and then write (a submit, a transition) wait for each other instead
         # of one failing with "database is locked".
         "transaction_mode": "IMMEDIATE"})
    # LOVKARTA_TEST_DB lets two test runs on one checkout keep apart.
    DATABASES["default"]["TEST"] = {"NAME": env.str(
        "LOVKARTA_TEST_DB", default=str(VAR_DIR / "test-lovkarta.sqlite3"))}
elif _engine.endswith("postgis"):
    # PostGIS cost estimates are high enough to trigger JIT on every spatial query,
    # which costs far more than it saves here. For the same reason the planner starts
    # parallel workers for queries that are small: measured at 1,000,000 parcels, the
    # dense z14 review-map tiles took 30-37 ms with a worker and 17-19 ms without, and the
    # re-check of 10,000 cases was no faster with them. A web application runs its
    # requests side by side anyway.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c jit=off -c max_parallel_workers_per_gather=0")
    # A new connection per request costs more than the query (about 10 ms against 1 ms).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("LOVKARTA_DB_CONN_MAX_AGE", default=300)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured(
        f"DATABASE_URL must be spatialite:// or postgis://, not {_engine}")

# Log-in: local accounts, and an OIDC e-ID provider (BankID, Freja eID... through a broker)
# when LOVKARTA_OIDC_CLIENT_ID is set. Configuration only: no code changes.
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
_OIDC_SETTINGS = {
    "OIDC_RP_CLIENT_ID": "LOVKARTA_OIDC_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET": "LOVKARTA_OIDC_CLIENT_SECRET",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "LOVKARTA_OIDC_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT": "LOVKARTA_OIDC_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT": "LOVKARTA_OIDC_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT": "LOVKARTA_OIDC_JWKS_ENDPOINT",
}
LOVKARTA_OIDC_ENABLED = bool(env.str("LOVKARTA_OIDC_CLIENT_ID", default=""))
if LOVKARTA_OIDC_ENABLED:
    _missing = [var for var in _OIDC_SETTINGS.values() if not env.str(var, default="")]
    if _missing:
        raise ImproperlyConfigured(
            f"OIDC log-in is half configured: set {', '.join(_missing)} as well")
    for _name, _var in _OIDC_SETTINGS.items():
        globals()[_name] = env.str(_var)
    OIDC_RP_SIGN_ALGO = env.str("LOVKARTA_OIDC_SIGN_ALGO", default="RS256")
    OIDC_RP_SCOPES = env.str("LOVKARTA_OIDC_SCOPES", default="openid profile email")
    LOVKARTA_OIDC_LABEL = env.str("LOVKARTA_OIDC_LABEL", default="e-legitimation")
    AUTHENTICATION_BACKENDS.append("permits.auth.EIDBackend")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Log-in protection (django-axes, config/login_protection.py): an account is locked after
# LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT failed log-ins, an address after ..._PER_ADDRESS
# (higher: a town hall's staff share one), each for LOVKARTA_LOGIN_COOLOFF_MINUTES after
# the last failure, the right password included. One Swedish message for every lock-out,
# whether the account exists or not; attempts, failures and log-ins are in the admin,
# where deleting an attempt unlocks. Axes checks first, before any backend (e-ID too).
LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT = env.int("LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOVKARTA_LOGIN_FAILURES_PER_ADDRESS = env.int("LOVKARTA_LOGIN_FAILURES_PER_ADDRESS", default=20)
LOVKARTA_LOGIN_COOLOFF_MINUTES = env.int("LOVKARTA_LOGIN_COOLOFF_MINUTES", default=15)
# Proxies in front that append to X-Forwarded-For (production assumes one): the address
# the nearest one saw is the client's.
LOVKARTA_PROXY_COUNT = env.int("LOVKARTA_PROXY_COUNT", default=1 if LOVKARTA_PRODUCTION else 0)
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: it replaces the view's answer
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
AXES_HANDLER = "config.login_protection.LoginProtectionHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = LOVKARTA_LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(minutes=LOVKARTA_LOGIN_COOLOFF_MINUTES)
AXES_CLIENT_IP_CALLABLE = "config.login_protection.client_address"
AXES_LOCKOUT_CALLABLE = "config.login_protection.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# A success does not clear the address's count: one's own account must not reset it.
AXES_RESET_ON_SUCCESS = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Masked in the stored request data and the log lines (a password typed as a user name,
# OIDC's code and state); the log lines keep the address, the admin has the user name.
AXES_SENSITIVE_PARAMETERS = ["username", "password", "csrfmiddlewaretoken", "code", "state"]
# Days that log-ins, failed log-ins and attempts are kept (the admin's records of them);
# older ones are removed nightly by Celery beat, or by `manage.py lovkarta_login_logs`
# from cron where Celery is not used. An attempt inside its cool-off always stays.
LOVKARTA_LOGIN_LOG_DAYS = env.int("LOVKARTA_LOGIN_LOG_DAYS", default=90)
if LOVKARTA_LOGIN_LOG_DAYS < 1:
    raise ImproperlyConfigured("LOVKARTA_LOGIN_LOG_DAYS must be at least 1")

# Swedish first, English second.
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end libraries come from the npm registry at set-up (node_modules/), never a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/leaflet-draw", NODE_MODULES / "leaflet-draw" / "dist"),
    ("vendor/leaflet-vectorgrid", NODE_MODULES / "leaflet.vectorgrid" / "dist"),
]
MEDIA_ROOT = Path(env.str("LOVKARTA_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Attachments: PDF only, checked by content.
LOVKARTA_ATTACHMENT_MAX_BYTES = env.int("LOVKARTA_ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
LOVKARTA_ATTACHMENT_MAX_COUNT = env.int("LOVKARTA_ATTACHMENT_MAX_COUNT", default=20)
# Limits on what anyone may send: input beyond one is refused with a 4xx (or a form
# error) that names the limit, never a 500. PDF attachments: pages, objects (cross-
# reference entries), items in one array or dictionary, nesting depth (page tree,
# outlines, nested arrays) and the bytes the page contents may decompress to.
LOVKARTA_PDF_MAX_PAGES = env.int("LOVKARTA_PDF_MAX_PAGES", default=2000)
LOVKARTA_PDF_MAX_OBJECTS = env.int("LOVKARTA_PDF_MAX_OBJECTS", default=200_000)
LOVKARTA_PDF_MAX_ARRAY_ITEMS = env.int("LOVKARTA_PDF_MAX_ARRAY_ITEMS", default=50_000)
LOVKARTA_PDF_MAX_DEPTH = env.int("LOVKARTA_PDF_MAX_DEPTH", default=50)
LOVKARTA_PDF_MAX_STREAM_BYTES = env.int("LOVKARTA_PDF_MAX_STREAM_BYTES",
                                        default=128 * 1024 * 1024)
# Geometries posted to the API or drawn in the e-service (a part is a polygon's ring, a
# line, or a point of a multipoint; a drawing's features share one budget), the nesting
# of posted JSON, and the body of an API request (413 beyond it).
LOVKARTA_GEOMETRY_MAX_VERTICES = env.int("LOVKARTA_GEOMETRY_MAX_VERTICES", default=10_000)
LOVKARTA_GEOMETRY_MAX_PARTS = env.int("LOVKARTA_GEOMETRY_MAX_PARTS", default=100)
LOVKARTA_JSON_MAX_DEPTH = env.int("LOVKARTA_JSON_MAX_DEPTH", default=20)
LOVKARTA_API_MAX_BODY_BYTES = env.int("LOVKARTA_API_MAX_BODY_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="bygglov@sundsvall.example")
MEDIA_URL = "media/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Debian 12 ships GDAL 3.6, which cannot block file and network access from spatial
# references. Lovkarta never hands GDAL a CRS from outside: adapters parse CRS names
# themselves (geodata/crs.py) and strip srsName before GDAL reads a GML geometry.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Coordinates: storage and web roles (see geodata/crs.py).
STORAGE_SRID = 3006
WEB_SRID = 4326

# The municipality that takes applications pinned where no parcel is known.
LOVKARTA_DEFAULT_KOMMUNKOD = env.str("LOVKARTA_DEFAULT_KOMMUNKOD", default="2281")
# The price base amount (prisbasbelopp, SFS each year) that fee tables are factors of:
# a case is charged by the amount of the year it was received. Add a year as
# LOVKARTA_PRISBASBELOPP="2027=60000" (comma-separated pairs extend the table).
LOVKARTA_PRISBASBELOPP = {2024: 57_300, 2025: 58_800, 2026: 59_200} | {
    int(year): int(amount) for year, amount in (
        pair.split("=", 1) for pair in env.list("LOVKARTA_PRISBASBELOPP", default=[]))}

# The local OGC server (MapServer) standing in for Lantmäteriet in the demo.
LOVKARTA_OGC_URL = env.str("LOVKARTA_OGC_URL", default="http://127.0.0.1:8081/lovkarta")
# Background map for the web maps: a WMS URL and its layers.
LOVKARTA_BACKGROUND_WMS = env.str("LOVKARTA_BACKGROUND_WMS", default=LOVKARTA_OGC_URL)
LOVKARTA_BACKGROUND_LAYERS = env.str(
    "LOVKARTA_BACKGROUND_LAYERS",
    default="vatten,planbestammelse,byggnad,detaljplan,registerenhetsomradesytor")
# Timeouts for every call to an external source (seconds).
LOVKARTA_SOURCE_CONNECT_TIMEOUT = env.float("LOVKARTA_SOURCE_CONNECT_TIMEOUT", default=5.0)
LOVKARTA_SOURCE_READ_TIMEOUT = env.float("LOVKARTA_SOURCE_READ_TIMEOUT", default=60.0)
LOVKARTA_SOURCE_MAX_BYTES = env.int("LOVKARTA_SOURCE_MAX_BYTES", default=256 * 1024 * 1024)
LOVKARTA_SOURCE_DEADLINE = env.float("LOVKARTA_SOURCE_DEADLINE", default=3600.0)
LOVKARTA_SOURCE_RETRIES = env.int("LOVKARTA_SOURCE_RETRIES", default=3)
LOVKARTA_SOURCE_BACKOFF = env.float("LOVKARTA_SOURCE_BACKOFF", default=0.5)
# Page requests in flight at once per source while syncing (1 = one at a time).
LOVKARTA_SOURCE_PARALLEL_REQUESTS = env.int("LOVKARTA_SOURCE_PARALLEL_REQUESTS", default=2)

# Background work: Celery on Redis when REDIS_URL is set, inline otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Europe/Stockholm"
# Each source has its own schedule (Source.schedule_minutes); beat asks every minute
# which sources are due.
CELERY_BEAT_SCHEDULE = {
    "geodata-sync-due-sources": {"task": "geodata.sync_due_sources", "schedule": 60.0},
    # LOVKARTA_LOGIN_LOG_DAYS: log-in records are removed when they are older.
    "lovkarta-prune-login-logs": {"task": "lovkarta.prune_login_logs",
                                  "schedule": crontab(hour=3, minute=15)},
}

# Cache: Redis when LOVKARTA_CACHE_URL names one (a redis-py URL: redis://host:port/db,
# or unix:///path/redis.sock?db=1 for a socket), shared by the web workers: the form
# page's map and place summary, the case maps, the data ages of the API answers, and the
# sessions (kept in the database as well, read from the cache). In production it follows
# REDIS_URL when not set (Celery's redis+socket:// written as redis-py's unix://). Without
# either, each process keeps its own in memory.
LOVKARTA_CACHE_URL = env.str("LOVKARTA_CACHE_URL", default="")
if not LOVKARTA_CACHE_URL and LOVKARTA_PRODUCTION and REDIS_URL:
    LOVKARTA_CACHE_URL = (REDIS_URL.replace("redis+socket://", "unix://", 1)
                          if REDIS_URL.startswith("redis+socket://") else REDIS_URL)
if LOVKARTA_CACHE_URL:
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": LOVKARTA_CACHE_URL, "KEY_PREFIX": "lovkarta",
        # A cache that does not answer soon is a failure, not a wait.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

EMAIL_BACKEND = env.str("EMAIL_BACKEND",
                        default="django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "geodata": {"handlers": ["console"], "level": env.str("LOVKARTA_LOG_LEVEL",
                                                              default="INFO")},
        "permits": {"handlers": ["console"], "level": env.str("LOVKARTA_LOG_LEVEL",
                                                              default="INFO")},
        # Failed log-ins and lock-outs (user name and address masked; the admin has them).
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# Checks of a footprint against the plan: an overlap with a plan or regulation area below
# both of these (m², and percent of the footprint) is digitising noise (a sliver): listed,
# not counted.
LOVKARTA_SLIVER_M2 = env.float("LOVKARTA_SLIVER_M2", default=1.0)
LOVKARTA_SLIVER_PERCENT = env.float("LOVKARTA_SLIVER_PERCENT", default=1.0)
# The shore protection check: a footprint within this many metres of a shoreline
# (strandskydd, miljöbalken 7:14: 100 m, or up to 300 m where the county board extended
# it) needs the officer's look, as an exemption (a DI case) may be needed.
LOVKARTA_SHORE_PROTECTION_M = env.float("LOVKARTA_SHORE_PROTECTION_M", default=100.0)

# Hearings and referrals: the days a neighbour or body has to reply (the installation's
# default; a committee's own hearing_reply_days wins), reminders by e-mail some days before
# the reply day and some days after it passed unanswered, and the property register
# adapter for owners' names (a dotted path to an OwnerRegister; empty: none, letters go
# to "the owner of" the property at its addresses).
LOVKARTA_HEARING_REPLY_DAYS = env.int("LOVKARTA_HEARING_REPLY_DAYS", default=14)
LOVKARTA_HEARING_REMIND_BEFORE_DAYS = env.int("LOVKARTA_HEARING_REMIND_BEFORE_DAYS", default=3)
LOVKARTA_HEARING_REMIND_AFTER_DAYS = env.int("LOVKARTA_HEARING_REMIND_AFTER_DAYS", default=1)
LOVKARTA_OWNER_REGISTER = env.str("LOVKARTA_OWNER_REGISTER", default="")
