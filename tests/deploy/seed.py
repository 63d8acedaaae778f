"""Seed a database from a separate process (the deployment tests run the app in gunicorn and
worker subprocesses against databases the test session's app is not bound to).

    DATABASE_URL=... python -m tests.deploy.seed world
        the test world (tests/factories.build_world), committed; prints its ids as JSON
    DATABASE_URL=... python -m tests.deploy.seed outbox N TOKEN_PREFIX
        N reminder deliveries due now for child A1's parent, each to its own device token
        TOKEN_PREFIX-i (the fake FCM accepts tokens starting with "ok"); prints their ids
"""
from __future__ import annotations

import json
import sys
import uuid

import sqlalchemy as sa


def main(argv: list[str]) -> None:
    from posyandu import create_app
    from posyandu.db import utcnow
    from posyandu.extensions import db

    app = create_app({"LOG_LEVEL": "WARNING"})
    with app.app_context():
        if argv[0] == "world":
            from tests import factories
            w = factories.build_world()
            db.session.commit()
            print(json.dumps({"kader": "kader.melati", "password": factories.PASSWORD,
                              "child_id": str(w.child_a1.id), "posyandu_id": w.posyandu_a1.id}))
            return
        if argv[0] == "outbox":
            from posyandu.auth.models import User
            from posyandu.children.models import Child
            from tests.reminders.dispatch_support import add_delivery, add_device, add_reminder
            count, prefix = int(argv[1]), argv[2]
            child = db.session.scalars(sa.select(Child).where(Child.name == "Ahmad Fauzi")).one()
            parent = db.session.scalars(sa.select(User).where(User.phone == "+6281311111111")).one()
            now = utcnow()
            ids = []
            for i in range(count):
                device = add_device(parent, f"{prefix}-{i}")
                reminder = add_reminder(child, send_at=now, ref_key=f"seed-{uuid.uuid4().hex[:12]}")
                ids.append(add_delivery(reminder, device, next_attempt_at=now).id)
            db.session.commit()
            print(json.dumps(ids))
            return
    raise SystemExit(f"unknown command {argv!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
