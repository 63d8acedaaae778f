"""The concurrency tests' private database (real commits never meet the rolled-back tests of the
session database): created per test module that uses ``race``, dropped after it."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from posyandu import create_app
from posyandu.config import TESTING_OVERRIDES, normalise_database_url
from posyandu.extensions import db

from tests import factories
from tests.conftest import DEFAULT_PG


@pytest.fixture(scope="module")
def race():
    """A private database with the world in it, an app on it, and the world's tokens."""
    admin_url = sa.make_url(normalise_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)))
    name = f"posyandu_race_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        app = create_app({**TESTING_OVERRIDES,
                          "SQLALCHEMY_DATABASE_URI": admin_url.set(database=name).render_as_string(False)})
        from flask_migrate import upgrade
        with app.app_context():
            upgrade()
            world = factories.build_world()
            db.session.commit()
            tokens = {role: factories.headers(getattr(world, role))
                      for role in ("kader_a1", "staff_a", "admin", "parent_1", "parent_2")}
            ids = {"posyandu_a1": world.posyandu_a1.id, "child_a1": world.child_a1.id,
                   "puskesmas_a": world.puskesmas_a.id}
        yield app, tokens, ids
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                "AND pid <> pg_backend_pid()")
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()
