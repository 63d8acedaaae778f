"""Clean failed-sign-in counters for the i18n tests that sign in with wrong passwords.

The session app keeps its limiter counters in memory. ``create_app()`` (called by tests that
build a production app) re-initialises the limiter singleton with *that* app's storage, which
may be the machine's Redis; ``limiter.reset()`` there would wipe every limiter key on the
machine (other test runs' included). So the session app's storage is put back first.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def fresh_rate_limits(app):
    from posyandu.extensions import limiter

    def reset():
        limiter.init_app(app)   # the session app's memory storage, whatever a test left behind
        with app.app_context():
            limiter.reset()
    reset()
    yield
    reset()
