"""Test fixtures: a real database per test session (SQLite or PostgreSQL), schema built by
running the migrations, each test rolled back.

Choose the backend with ``TEST_DB=sqlite`` (default) or ``TEST_DB=postgresql`` (URL from
``TEST_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``; a fresh database is
created per run and dropped afterwards).
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

from posyandu import create_app
from posyandu.config import TESTING_OVERRIDES, normalise_database_url
from posyandu.extensions import db

from tests import factories

BACKEND = os.environ.get("TEST_DB", "sqlite")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with TEST_DB=postgresql)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"
        return
    admin_url = sa.make_url(normalise_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)))
    name = f"posyandu_test_{worker_id}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade
    instance = tmp_path_factory.mktemp("instance")
    application = create_app({**TESTING_OVERRIDES, "SQLALCHEMY_DATABASE_URI": database_url})
    application.instance_path = str(instance)
    with application.app_context():
        upgrade()  # the schema comes from the migrations, never from create_all()
    return application


class _ConnectionBoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks engines by bind key and ignores ``bind``; in tests every
    query must go through the test's connection (and its outer transaction)."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture(autouse=True)
def _db_transaction(request, app):
    """Run each test inside an outer transaction that is rolled back afterwards.

    Use ``db.session`` (never a fresh ``db.engine.connect()``: on SQLite it would wait for the
    outer transaction's write lock). Requests commit through SAVEPOINTs; the data they write is visible to later requests in the
    same test and gone after it. Tests marked ``real_commits`` skip this (they clean up instead).
    """
    if "real_commits" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session({"bind": connection, "join_transaction_mode": "create_savepoint",
                                              "class_": _ConnectionBoundSession})
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


def _fresh_g_per_request(sender, **extra):
    """The test's app context is active while the test client runs requests, and Flask then
    reuses it for every request: without this, ``g`` (the signed-in user, the scope, the
    decoded JWT) would leak from one request into the next. Production has one g per request."""
    from flask import g
    for key in list(vars(g)):
        delattr(g, key)


@pytest.fixture
def client(app):
    from flask import request_started
    request_started.connect(_fresh_g_per_request, app)
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def world(app, _db_transaction):
    """Two kabupaten, puskesmas, posyandu and users of every role (for wrong-tenant tests).

    Built in the test's own app context (pushed by ``_db_transaction``), so the rows live in the
    test's session and survive until the test's rollback (a separate app context would close its
    session on exit and roll the rows back)."""
    from flask import has_app_context
    if has_app_context():
        w = factories.build_world()
        db.session.commit()  # releases the SAVEPOINT only: a request answering >= 400 keeps the world
        return w
    with app.app_context():
        return factories.build_world()


def pytest_configure(config):
    config.addinivalue_line("markers", "real_commits: the test commits for real and cleans up itself")


# --- the local fake of Google's endpoints (FCM, OAuth, securetoken, Identity Toolkit) ----------
FAKE_GOOGLE_PROJECT = "demo-posyandu"


@pytest.fixture(scope="session")
def fake_google_server():
    """One in-process fake on 127.0.0.1 for the whole run (started only when a test asks)."""
    from posyandu.devtools.fake_google import FakeGoogle
    with FakeGoogle(project_id=FAKE_GOOGLE_PROJECT) as server:
        yield server


@pytest.fixture
def fake(fake_google_server):
    """The shared fake, with traffic, users, mode and knobs reset for this test."""
    fake_google_server.reset(users=True)
    fake_google_server.quota_retry_after = None
    fake_google_server.unavailable_retry_after = None
    fake_google_server.slow_seconds = 1.0
    yield fake_google_server
    fake_google_server.set_mode(None)
