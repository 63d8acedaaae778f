"""Failed sign-ins are limited per account (5 / 15 min) and per address (20 / 15 min)."""
from __future__ import annotations

from tests import factories

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20


def test_429_after_five_failed_logins_for_one_account(world, login):
    for _ in range(ACCOUNT_LIMIT):
        assert login("kader.melati", "wrong-password").status_code == 401
    blocked = login("kader.melati", "wrong-password")
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"
    assert blocked.json["status"] == 429
    assert blocked.json["type"].endswith("too-many-requests")
    retry_after = int(blocked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    # even the right password waits: the account is locked for the window
    assert login("kader.melati").status_code == 429
    # the same account by phone number (another format) is the same counter
    assert login("0812-0000-0001").status_code == 429
    # another account from the same address still signs in
    assert login("kader.mawar").status_code == 200


def test_successful_logins_do_not_count(world, login):
    for _ in range(ACCOUNT_LIMIT + 3):
        assert login("kader.melati").status_code == 200
    for _ in range(ACCOUNT_LIMIT - 1):
        assert login("kader.melati", "wrong-password").status_code == 401
    assert login("kader.melati").status_code == 200


def test_other_accounts_failures_do_not_block(world, login):
    for _ in range(ACCOUNT_LIMIT + 1):
        login("kader.mawar", "wrong-password")
    assert login("kader.mawar").status_code == 429
    assert login("kader.melati").status_code == 200


def test_429_per_address_across_accounts(world, login):
    here = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    names = [f"nobody.{i}" for i in range(ADDRESS_LIMIT)]
    for name in names:  # one failure per account: no account limit is reached
        assert login(name, "wrong-password", **here).status_code == 401
    blocked = login("kader.melati", **here)
    assert blocked.status_code == 429
    assert blocked.mimetype == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) > 0
    # another address is not affected
    assert login("kader.melati", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


def test_bad_input_is_not_counted(client, world, login):
    for _ in range(ACCOUNT_LIMIT + 2):
        assert client.post("/api/v1/auth/login", json={"login": "kader.melati"}).status_code == 422
    assert login("kader.melati").status_code == 200


def test_wrong_current_password_is_limited(client, world):
    body = {"current_password": "wrong-one-1", "new_password": "Kata-Sandi-Baru-2025"}
    for _ in range(ACCOUNT_LIMIT):
        assert client.post("/api/v1/auth/password", headers=factories.headers(world.kader_a1),
                           json=body).status_code == 422
    assert client.post("/api/v1/auth/password", headers=factories.headers(world.kader_a1),
                       json=body).status_code == 429
    assert client.post("/api/v1/auth/password", headers=factories.headers(world.kader_a2),
                       json=body).status_code == 422


def test_only_decorated_routes_pay_for_the_limiter(app):
    """All our limits are on decorated views, so the app-wide before_request check is taken off
    (posyandu.auth.ratelimit.check_decorated_routes_only); the decorated limits above still hold."""
    from posyandu.extensions import limiter
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])


def test_the_limiter_hook_stays_when_an_app_wide_limit_exists():
    """A default limit is enforced only by that hook: with one configured it is kept, and works."""
    from flask import Flask
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from posyandu.auth.ratelimit import check_decorated_routes_only

    app = Flask("limited")
    limiter = Limiter(key_func=get_remote_address, default_limits=["2 per minute"], storage_uri="memory://")
    limiter.init_app(app)
    app.add_url_rule("/ping", "ping", lambda: "pong")
    assert check_decorated_routes_only(app, limiter) is False
    client = app.test_client()
    assert [client.get("/ping").status_code for _ in range(3)] == [200, 200, 429]

    bare = Flask("bare")
    quiet = Limiter(key_func=get_remote_address, storage_uri="memory://")
    quiet.init_app(bare)
    bare.add_url_rule("/ping", "ping", lambda: "pong")
    assert check_decorated_routes_only(bare, quiet) is True
    assert quiet._check_request_limit not in bare.before_request_funcs[None]
