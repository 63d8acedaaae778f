"""A clean rate limiter for each i18n test (several tests sign in with wrong passwords)."""
from __future__ import annotations

import pytest

from posyandu.extensions import limiter


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()
