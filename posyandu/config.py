"""Configuration from the environment, with safe development defaults.

Production (``POSYANDU_ENV=production``) refuses to start without real secrets and refuses
settings that would weaken token verification (see ``validate``).
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a configuration we are willing to run."""


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common ``postgresql://`` form."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


#: werkzeug ProxyFix arguments and the settings that give them (0 = do not trust that header).
PROXY_FIX_SETTINGS = {"x_for": "PROXY_FIX_X_FOR", "x_proto": "PROXY_FIX_X_PROTO",
                      "x_host": "PROXY_FIX_X_HOST", "x_port": "PROXY_FIX_X_PORT",
                      "x_prefix": "PROXY_FIX_X_PREFIX"}


def wrap_for_proxy(wsgi_app, config: dict):
    """``wsgi_app`` behind werkzeug's ProxyFix with the configured trusted hop counts, or
    unchanged when every count is 0 (the default)."""
    counts = {arg: int(config.get(setting) or 0) for arg, setting in PROXY_FIX_SETTINGS.items()}
    if not any(counts.values()):
        return wsgi_app
    from werkzeug.middleware.proxy_fix import ProxyFix
    return ProxyFix(wsgi_app, **counts)


def from_environment(instance_path: str) -> dict:
    env = os.environ.get("POSYANDU_ENV", "development")
    default_db = "sqlite:///" + str(Path(instance_path) / "posyandu.db")
    return {
        "ENV_NAME": env,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(os.environ.get("DATABASE_URL", default_db)),
        # No pre-ping: it costs a round trip on every request (~0.5 ms of a ~7 ms write). After a
        # database restart the first request on a dead pooled connection fails and the pool is
        # invalidated; phones retry (pushes are idempotent). Opt in with DATABASE_POOL_PRE_PING=1.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": _env_bool("DATABASE_POOL_PRE_PING", False),
                                      "pool_recycle": 1800},
        "JWT_SECRET_KEY": os.environ.get("JWT_SECRET_KEY", "dev-only-insecure-jwt-secret-change-me"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-insecure-secret-change-me"),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=_env_int("JWT_ACCESS_MINUTES", 15)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_env_int("JWT_REFRESH_DAYS", 30)),
        # Flask-Limiter: memory:// keeps counters per process (development only, refused in
        # production); redis:// shares them between gunicorn workers and machines. While Redis
        # is unreachable the limits fall back to per-process memory (logged) instead of failing
        # sign-ins with 500.
        # Tokens: the API reads the Authorization header; the web portal keeps them in cookies
        # (httpOnly, SameSite=Lax, Secure behind TLS; its forms carry a CSRF token). The refresh
        # cookie is sent to the portal only. Header first: a phone never needs the cookies.
        "JWT_TOKEN_LOCATION": ["headers", "cookies"],
        "JWT_COOKIE_SECURE": _env_bool("PORTAL_COOKIE_SECURE", env == "production"),
        "JWT_COOKIE_SAMESITE": "Lax",
        "JWT_ACCESS_COOKIE_PATH": "/",
        "JWT_REFRESH_COOKIE_PATH": "/portal/",
        "JWT_COOKIE_CSRF_PROTECT": True,
        "JWT_CSRF_IN_COOKIES": False,
        "JWT_CSRF_CHECK_FORM": True,
        "JWT_SESSION_COOKIE": True,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "posyandu"),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Behind a reverse proxy: how many proxies to trust for each X-Forwarded-* header
        # (werkzeug ProxyFix). 0 (default) = none: the client address is the TCP peer.
        "PROXY_FIX_X_FOR": _env_int("PROXY_FIX_X_FOR", 0),
        "PROXY_FIX_X_PROTO": _env_int("PROXY_FIX_X_PROTO", 0),
        "PROXY_FIX_X_HOST": _env_int("PROXY_FIX_X_HOST", 0),
        "PROXY_FIX_X_PORT": _env_int("PROXY_FIX_X_PORT", 0),
        "PROXY_FIX_X_PREFIX": _env_int("PROXY_FIX_X_PREFIX", 0),
        # GET /metrics (Prometheus): 404 unless a token and/or allowed networks are set.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        "METRICS_ALLOWED_NETWORKS": os.environ.get("METRICS_ALLOWED_NETWORKS") or None,
        "FIREBASE_PROJECT_ID": os.environ.get("FIREBASE_PROJECT_ID", "demo-posyandu"),
        "FIREBASE_CREDENTIALS": os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"),
        "FCM_ENDPOINT_URL": os.environ.get("FCM_ENDPOINT_URL"),
        "FCM_DRY_RUN": _env_bool("FCM_DRY_RUN", False),
        "NIK_ENCRYPTION_KEY": os.environ.get("NIK_ENCRYPTION_KEY", "dev-only-nik-key-change-me"),
        # Command-centre API keys are stored as HMAC-SHA256 under this secret (SECRET_KEY when
        # unset); changing it invalidates every key (docs/command-centre.md).
        "API_KEY_HMAC_SECRET": os.environ.get("API_KEY_HMAC_SECRET") or None,
        "COMMAND_CENTRE_RATE_LIMIT": os.environ.get("COMMAND_CENTRE_RATE_LIMIT", "30 per minute"),
        "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS": _env_int("COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", 300),
        "COMMAND_CENTRE_PAST_MONTHS_SECONDS": _env_int("COMMAND_CENTRE_PAST_MONTHS_SECONDS", 3600),
        # compute the feed in a background thread, serving the kept one meanwhile (off: in the request)
        "COMMAND_CENTRE_BACKGROUND": _env_bool("COMMAND_CENTRE_BACKGROUND", True),
        # SATUSEHAT submission (`flask fhir submit`): off unless all five are set.
        "SATUSEHAT_BASE_URL": os.environ.get("SATUSEHAT_BASE_URL"),
        "SATUSEHAT_AUTH_URL": os.environ.get("SATUSEHAT_AUTH_URL"),
        "SATUSEHAT_CLIENT_ID": os.environ.get("SATUSEHAT_CLIENT_ID"),
        "SATUSEHAT_CLIENT_SECRET": os.environ.get("SATUSEHAT_CLIENT_SECRET"),
        "SATUSEHAT_ORGANIZATION_ID": os.environ.get("SATUSEHAT_ORGANIZATION_ID"),
        "SATUSEHAT_ALLOW_INSECURE_URL": _env_bool("SATUSEHAT_ALLOW_INSECURE_URL", False),
        "SATUSEHAT_TIMEOUT_SECONDS": float(os.environ.get("SATUSEHAT_TIMEOUT_SECONDS", "30")),
        "SATUSEHAT_MAX_ATTEMPTS": int(os.environ.get("SATUSEHAT_MAX_ATTEMPTS", "5")),
        "SATUSEHAT_RETRY_BASE_SECONDS": float(os.environ.get("SATUSEHAT_RETRY_BASE_SECONDS", "1")),
        "SATUSEHAT_RETRY_CAP_SECONDS": float(os.environ.get("SATUSEHAT_RETRY_CAP_SECONDS", "60")),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": _env_bool("LOG_JSON", env == "production"),
    }


#: Settings used by the test-suite; merged over the environment-derived ones.
TESTING_OVERRIDES = {
    "TESTING": True,
    # the feed's background thread would not see a test's uncommitted rows
    "COMMAND_CENTRE_BACKGROUND": False,
    "JWT_SECRET_KEY": "test-jwt-secret-key-with-enough-length",
    "SECRET_KEY": "test-secret",
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOG_LEVEL": "WARNING",
    # Metrics on in tests, so every test request also runs the metrics hook.
    "METRICS_TOKEN": "test-metrics-token-0123456789abcdef",
    # Every answer dumped both by the planned dump and by marshmallow; a difference fails the
    # request (posyandu.schema_dump): the whole suite checks the planned dumps.
    "DUMP_CROSS_CHECK": True,
}


def validate(config: dict) -> None:
    """Refuse unsafe production configurations early, at start-up."""
    if config.get("ENV_NAME") != "production":
        return
    problems = []
    for key in ("JWT_SECRET_KEY", "SECRET_KEY", "NIK_ENCRYPTION_KEY"):
        value = config.get(key) or ""
        if value.startswith("dev-only") or len(value) < 32:
            problems.append(f"{key} must be set to a random value of at least 32 characters")
    if os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
        problems.append("FIREBASE_AUTH_EMULATOR_HOST is set: firebase-admin would accept unsigned ID tokens")
    if config.get("FCM_ENDPOINT_URL"):
        problems.append("FCM_ENDPOINT_URL is set: pushes would go to a development fake, not to FCM")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not _env_bool("ALLOW_SQLITE_IN_PRODUCTION", False):
        problems.append("DATABASE_URL points at SQLite; production needs PostgreSQL")
    from .fhir.settings import insecure_url_problems
    problems += insecure_url_problems(config)
    if config.get("RATELIMIT_ENABLED", True) and \
            (config.get("RATELIMIT_STORAGE_URI") or "memory://").startswith("memory://"):
        problems.append("RATELIMIT_STORAGE_URI is memory://: every gunicorn worker would keep its own "
                        "sign-in counters; use redis://host:6379/0")
    hmac_secret = config.get("API_KEY_HMAC_SECRET")
    if hmac_secret and len(hmac_secret) < 32:
        problems.append("API_KEY_HMAC_SECRET must be a random value of at least 32 characters")
    token = config.get("METRICS_TOKEN")
    if token and len(token) < 32:
        problems.append("METRICS_TOKEN must be a random value of at least 32 characters")
    access = config["JWT_ACCESS_TOKEN_EXPIRES"]
    if access > timedelta(minutes=15):
        problems.append("JWT access tokens must live 15 minutes or less")
    if config["JWT_REFRESH_TOKEN_EXPIRES"] > timedelta(days=30):
        problems.append("refresh tokens must live 30 days or less")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))
