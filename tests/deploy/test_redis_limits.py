"""The sign-in limits are shared by every gunicorn worker when the counters live in Redis: two
separate app processes (as two workers are) behind one proxy, with PROXY_FIX_X_FOR=1, count
failed sign-ins together, per account and per client address."""
from __future__ import annotations

import uuid

import pytest

from .processes import Gunicorn, app_environment, request

REDIS_URL = "redis://127.0.0.1:6379/0"
ACCOUNT_LIMIT, ADDRESS_LIMIT = 5, 20


@pytest.fixture
def redis_prefix():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"posyandu-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _fail(port: int, login: str, address: str) -> int:
    status, headers, body = request(port, "POST", "/api/v1/auth/login",
                                    {"login": login, "password": "wrong-password"},
                                    headers={"X-Forwarded-For": address})
    if status == 429:
        assert int(headers["retry-after"]) > 0 and body["status"] == 429
    return status


@pytest.mark.real_commits
def test_two_app_processes_share_the_failed_login_limits(database_url, redis_prefix, tmp_path):
    env = app_environment(database_url, RATELIMIT_STORAGE_URI=REDIS_URL,
                          RATELIMIT_KEY_PREFIX=redis_prefix, PROXY_FIX_X_FOR="1")
    with Gunicorn(env, tmp_path / "a.log") as a, Gunicorn(env, tmp_path / "b.log") as b:
        logs = lambda: f"\nA: {a.output()}\nB: {b.output()}"  # noqa: E731
        # per account: 3 failures on one process and 2 on the other (each under 5 by itself),
        # each from its own address so only the account counter is shared
        for i, server in enumerate([a, a, a, b, b]):
            assert _fail(server.port, "nobody.shared", f"198.51.100.{i + 1}") == 401, logs()
        assert _fail(a.port, "nobody.shared", "198.51.100.50") == 429, logs()
        assert _fail(b.port, "nobody.shared", "198.51.100.51") == 429, logs()

        # per address (the phone's, from X-Forwarded-For): 20 failures split over both
        for i in range(ADDRESS_LIMIT):
            server = a if i % 2 else b
            assert _fail(server.port, f"nobody.{i}", "203.0.113.7") == 401, logs()
        assert _fail(a.port, "nobody.next", "203.0.113.7") == 429, logs()
        assert _fail(b.port, "nobody.next", "203.0.113.7") == 429, logs()
        # another phone behind the same proxy still gets its own attempts
        assert _fail(a.port, "nobody.other", "203.0.113.8") == 401, logs()
        assert "Traceback" not in a.output() + b.output()
