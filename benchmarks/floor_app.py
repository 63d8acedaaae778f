"""The floor for ``POST /measurements`` in bench_api.py: the least a Flask-SQLAlchemy endpoint
can do for the same request (issue 8's comparison point).

It parses the same JSON body, SELECTs the child by its key (its posyandu) and INSERTs one row
into the same ``measurement`` table, commits, and answers 201 with the stored values: no auth,
no validation schema, no growth assessment, no trend, no audit, no sync change log. Served by
gunicorn exactly like ``wsgi:app`` (``gunicorn floor_app:app`` from this directory, same
workers, same database), so ``POST rps / floor rps`` is the share of the bare framework + driver
+ database cost that the real endpoint keeps.
"""
from __future__ import annotations

import gc
import os
import uuid
from datetime import date, datetime, timezone

import sqlalchemy as sa
from flask import Flask, abort, jsonify, request
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
app = Flask(__name__)
url = os.environ["DATABASE_URL"]
app.config["SQLALCHEMY_DATABASE_URI"] = url.replace("postgresql://", "postgresql+psycopg://", 1)
db.init_app(app)

child = sa.table("child", sa.column("id", sa.Uuid), sa.column("posyandu_id", sa.Integer))
measurement = sa.table(
    "measurement", *(sa.column(name) for name in (
        "id", "child_id", "posyandu_id", "measured_on", "weight_kg", "length_cm", "measure_method", "oedema",
        "version", "created_at", "updated_at")))


@app.post("/api/v1/measurements")
def record():
    body = request.get_json()
    child_id = uuid.UUID(body["child_id"])
    posyandu_id = db.session.execute(sa.select(child.c.posyandu_id).where(child.c.id == child_id)).scalar()
    if posyandu_id is None:
        abort(404)
    now = datetime.now(timezone.utc)
    row = {"id": uuid.UUID(body["id"]), "child_id": child_id, "posyandu_id": posyandu_id,
           "measured_on": date.fromisoformat(body["measured_on"]), "weight_kg": body.get("weight_kg"),
           "length_cm": body.get("length_cm"), "measure_method": body.get("measure_method"), "oedema": False,
           "version": 1, "created_at": now, "updated_at": now}
    db.session.execute(sa.insert(measurement), row)
    db.session.commit()
    return jsonify({**row, "id": str(row["id"]), "child_id": str(child_id),
                    "measured_on": row["measured_on"].isoformat(), "created_at": now.isoformat(),
                    "updated_at": now.isoformat()}), 201


@app.get("/health")
def health():
    return {"status": "ok"}


gc.collect()
gc.freeze()
