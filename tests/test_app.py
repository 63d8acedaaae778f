"""The application shell: probes, problem+json errors, OpenAPI, migrations in step with models."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from posyandu import create_app
from posyandu.config import ConfigError
from posyandu.extensions import db


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_ready_reports_database_and_migrations(client):
    response = client.get("/ready")
    assert response.status_code == 200, response.json
    assert response.json["database"] == "ok"
    assert response.json["migrations"] == "head"


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404
    assert response.json["title"]


def test_openapi_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "PosyanduGo API"


def test_models_match_migrations(app):
    """A model change without a migration fails here."""
    with app.app_context():
        context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"


def test_production_refuses_insecure_settings(monkeypatch):
    monkeypatch.setenv("POSYANDU_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/none")
    with pytest.raises(ConfigError) as excinfo:
        create_app()
    assert "JWT_SECRET_KEY" in str(excinfo.value)


def test_production_refuses_auth_emulator(monkeypatch):
    monkeypatch.setenv("POSYANDU_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/none")
    for key in ("JWT_SECRET_KEY", "SECRET_KEY", "NIK_ENCRYPTION_KEY"):
        monkeypatch.setenv(key, "x" * 40)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    with pytest.raises(ConfigError) as excinfo:
        create_app()
    assert "FIREBASE_AUTH_EMULATOR_HOST" in str(excinfo.value)
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    create_app()  # otherwise fine


def test_psycopg_caches_the_hot_write_statements(client, world):
    """The measurement POST's statements fit psycopg's widened query-conversion cache
    (posyandu.db.widen_psycopg_query_cache); a psycopg release without the constants fails here."""
    import uuid
    from datetime import date

    import sqlalchemy as sa
    from psycopg import _queries

    from posyandu import db as posyandu_db
    from tests.factories import headers

    assert _queries.MAX_CACHED_STATEMENT_LENGTH >= posyandu_db.PSYCOPG_CACHED_QUERY_LENGTH
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= posyandu_db.PSYCOPG_CACHED_QUERY_PARAMS
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        response = client.post("/api/v1/measurements", headers=headers(world.kader_a1), json={
            "id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": date.today().isoformat(),
            "weight_kg": 9.5, "length_cm": 75.0, "measure_method": "lying"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 201, response.get_json()
    assert seen
    for statement, parameters in seen:
        assert len(statement) <= posyandu_db.PSYCOPG_CACHED_QUERY_LENGTH, statement[:200]
        assert len(parameters or ()) <= posyandu_db.PSYCOPG_CACHED_QUERY_PARAMS, statement[:200]
