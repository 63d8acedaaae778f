"""Fixtures for the auth tests: a clean rate-limiter per test, and sign-in helpers."""
from __future__ import annotations

import pytest

from posyandu.extensions import limiter

from tests import factories


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """The limiter's storage lives as long as the app: clear it so no test inherits counts."""
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


@pytest.fixture
def login(client):
    """POST /auth/login; returns the response."""
    def _login(identifier, password=factories.PASSWORD, **kwargs):
        return client.post("/api/v1/auth/login", json={"login": identifier, "password": password}, **kwargs)
    return _login
