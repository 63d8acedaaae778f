"""PosyanduGo: the REST backend posyandu run on.

``create_app`` reads top to bottom: configuration, logging, extensions, error handlers,
blueprints, CLI commands.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import config as config_module

if TYPE_CHECKING:  # Flask is imported by create_app: the posyandu-anthro CLI never needs it
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    from flask import Flask

    app = Flask(__name__, instance_relative_config=False,
                instance_path=os.environ.get("POSYANDU_INSTANCE_PATH", os.path.join(os.getcwd(), "instance")))
    app.config.update(config_module.from_environment(app.instance_path))
    if config:
        app.config.update(config)
    config_module.validate(app.config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)

    register_proxy_fix(app)
    register_logging(app)
    register_extensions(app)
    register_error_handlers(app)
    register_edge(app)
    register_blueprints(app)
    register_portal(app)
    register_metrics(app)
    register_commands(app)
    from .transaction import register_request_transaction
    register_request_transaction(app)
    from .auth.ratelimit import check_decorated_routes_only
    from .extensions import limiter
    check_decorated_routes_only(app, limiter)
    return app


def register_proxy_fix(app: Flask) -> None:
    """Behind a reverse proxy, trust its X-Forwarded-* headers (``PROXY_FIX_X_FOR=1`` for one
    nginx), so the client address (per-address sign-in limits, logs, metrics networks) is the
    phone's, not the proxy's. Off by default: without a proxy those headers are forgeable."""
    app.wsgi_app = config_module.wrap_for_proxy(app.wsgi_app, app.config)


def register_logging(app: Flask) -> None:
    from .logging_setup import configure_logging
    configure_logging(app)


def register_extensions(app: Flask) -> None:
    from .extensions import db, jwt, limiter, migrate
    from . import models  # noqa: F401  (every model registered on the metadata)
    from . import database_outage  # noqa: F401  (pool hooks: dead connections, outage log)

    app.config.setdefault("API_TITLE", "PosyanduGo API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    # Served by the app itself (posyandu/portal/static/vendor): the docs work on an offline server.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/portal/static/vendor/swagger-ui/")
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})
    app.config.setdefault("OPENAPI_REDOC_PATH", "redoc")
    app.config.setdefault("OPENAPI_REDOC_URL", "/portal/static/vendor/redoc/redoc.standalone.js")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            # machine clients (the command-centre feed only): docs/command-centre.md
            "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "apiKeyBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "API key (pgcc_...)"}}},
        "security": [{"bearerAuth": []}],
        "info": {"description": "PosyanduGo REST API. Errors are application/problem+json. "
                                "See the README for roles and the sync protocol."},
    })

    db.init_app(app)
    from .db import widen_psycopg_query_cache
    widen_psycopg_query_cache()
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    jwt.init_app(app)
    limiter.init_app(app)
    from .auth.tokens import register_jwt_callbacks
    register_jwt_callbacks(jwt)


def register_error_handlers(app: Flask) -> None:
    from .errors import Api, register_error_handlers as _register
    api = Api(app)
    app.extensions["posyandu.api"] = api
    _register(app)


def register_edge(app: Flask) -> None:
    """Input rules for every field and route as a class (text, integer and date bounds, body
    size), before any route exists (``posyandu/edge.py``)."""
    from . import edge
    edge.install(app)
    api = app.extensions["posyandu.api"]
    api.ma_plugin.converter.add_attribute_function(edge.integer_field_bounds)
    api.register_converter(edge.BoundedIntegerConverter, edge.path_integer_schema)
    api.register_converter(edge.TextConverter, edge.path_text_schema)


def register_blueprints(app: Flask) -> None:
    from .health import blp as health_blp
    from .routes import API_BLUEPRINTS, SYNC_ADAPTERS
    from .sync.adapters import register_adapters
    register_adapters(app, SYNC_ADAPTERS())
    app.register_blueprint(health_blp)
    api = app.extensions["posyandu.api"]
    for blueprint in API_BLUEPRINTS():
        api.register_blueprint(blueprint, url_prefix="/api/v1" + (blueprint.url_prefix or ""))


def register_portal(app: Flask) -> None:
    """The server-rendered portal for puskesmas and dinkes staff (``/portal``)."""
    from .portal import init_app
    init_app(app)


def register_metrics(app: Flask) -> None:
    from . import metrics
    metrics.init_app(app)


def register_commands(app: Flask) -> None:
    from .cli import register
    register(app)
