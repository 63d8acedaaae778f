"""Two requests racing with the same refresh token: exactly one rotates it (PostgreSQL)."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from posyandu.auth.models import RefreshToken, User
from posyandu.auth.passwords import hash_password
from posyandu.extensions import db

pytestmark = [pytest.mark.real_commits, pytest.mark.postgres_only]

PASSWORD = "Race-Condition-2025"


def test_concurrent_refresh_rotates_once_and_revokes_the_family(app):
    with app.app_context():
        user = User(username="race.tester", full_name="Race", role="admin", password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    try:
        client = app.test_client()
        first = client.post("/api/v1/auth/login", json={"login": "race.tester", "password": PASSWORD}).json
        results: list[int] = []
        barrier = threading.Barrier(2)

        def use_it():
            barrier.wait()
            response = app.test_client().post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
            results.append(response.status_code)

        threads = [threading.Thread(target=use_it) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [200, 401]
        with app.app_context():
            rows = db.session.execute(sa.select(RefreshToken).where(RefreshToken.user_id == user_id)).scalars().all()
            assert len(rows) == 2  # the login's token and the one rotation
            assert all(r.revoked_at is not None for r in rows)  # the loser revealed the reuse
    finally:
        with app.app_context():
            db.session.execute(sa.delete(RefreshToken).where(RefreshToken.user_id == user_id))
            db.session.execute(sa.delete(User).where(User.id == user_id))
            db.session.commit()
