"""The floor for a write in this stack: a minimal Flask + Flask-SQLAlchemy app whose one endpoint
SELECTs the child by key and INSERTs one measurement row, nothing else (no auth, no schema, no
assessment, no audit or change log).

    DATABASE_URL=postgresql://... gunicorn --workers 2 --chdir benchmarks floor_app:app

It answers ``POST /api/v1/measurements`` with the API's own request body (``id``, ``child_id``,
``measured_on``, ``weight_kg``, ``length_cm``, ``measure_method``), so a benchmark can send the
very same encoded requests (``bench_api._post_bytes``) to the real endpoint and to this one under
the same gunicorn settings: the ratio of the two is what the API's own work costs a cadre.
"""
from __future__ import annotations

import gc
import os
import uuid
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
_child = sa.table("child", sa.column("id", sa.Uuid), sa.column("posyandu_id", sa.Integer))
_measurement = sa.table(
    "measurement", *(sa.column(name, type_) for name, type_ in (
        ("id", sa.Uuid), ("child_id", sa.Uuid), ("posyandu_id", sa.Integer), ("measured_on", sa.Date),
        ("weight_kg", sa.Float), ("length_cm", sa.Float), ("measure_method", sa.String), ("oedema", sa.Boolean),
        ("confirm_implausible", sa.Boolean), ("version", sa.Integer), ("created_at", sa.DateTime(timezone=True)),
        ("updated_at", sa.DateTime(timezone=True)))))


def create_app(database_url: str | None = None) -> Flask:
    """The floor app on ``database_url`` (default: ``DATABASE_URL``), with the API's pool settings."""
    url = database_url or os.environ["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS={"pool_recycle": 1800})
    db.init_app(app)

    @app.post("/api/v1/measurements")
    def post_measurement():
        body = request.get_json()
        child_id = uuid.UUID(body["child_id"])
        posyandu_id = db.session.execute(
            sa.select(_child.c.posyandu_id).where(_child.c.id == child_id)).scalar_one_or_none()
        if posyandu_id is None:
            return jsonify(detail="No such child."), 404
        now = datetime.now(timezone.utc)
        db.session.execute(sa.insert(_measurement).values(
            id=uuid.UUID(body["id"]), child_id=child_id, posyandu_id=posyandu_id,
            measured_on=date.fromisoformat(body["measured_on"]), weight_kg=body.get("weight_kg"),
            length_cm=body.get("length_cm"), measure_method=body.get("measure_method"), oedema=False,
            confirm_implausible=False, version=1, created_at=now, updated_at=now))
        db.session.commit()
        return jsonify(id=body["id"]), 201

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app


#: What gunicorn serves (``floor_app:app``), built from ``DATABASE_URL`` when the module is imported
#: with one; its start-up objects frozen out of the garbage collector, as ``wsgi.py`` does.
app = create_app() if os.environ.get("DATABASE_URL") else None
gc.collect()
gc.freeze()
