"""Fixtures for the user administration tests."""
from __future__ import annotations

import pytest

from posyandu.extensions import limiter


@pytest.fixture(autouse=True)
def _fresh_rate_limits(app):
    """Some tests sign in; the limiter's storage lives as long as the app."""
    with app.app_context():
        limiter.reset()
    yield
