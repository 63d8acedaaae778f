"""Liveness and readiness probes (outside /api/v1, unauthenticated, no personal data)."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify

from .extensions import db

blp = Blueprint("health", __name__)


@blp.get("/health")
def health():
    """The process is alive."""
    return jsonify(status="ok")


def migration_heads() -> set[str]:
    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())


@blp.get("/ready")
def ready():
    """The database answers and its schema is at the migrations' head."""
    try:
        connection = db.session.connection()
        connection.execute(sa.text("SELECT 1"))
        current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        current_app.logger.warning("readiness check failed: %s", type(exc).__name__)
        response = jsonify(status="unavailable", database="unreachable")
        response.status_code = 503
        return response
    heads = migration_heads()
    if current != heads:
        response = jsonify(status="unavailable", database="ok", migrations="behind",
                           current=sorted(current), head=sorted(heads))
        response.status_code = 503
        return response
    return jsonify(status="ok", database="ok", migrations="head", revision=sorted(heads))
