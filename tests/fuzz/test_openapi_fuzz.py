"""Property-based fuzzing of every operation of the served OpenAPI document (issue 9 §1).

schemathesis generates valid and invalid requests from ``/api/v1/openapi.json`` and sends them
through the WSGI app (real routing, auth, database: SQLite or PostgreSQL per ``TEST_DB``), as a
parent, a kader, puskesmas staff, dinkes staff and an admin, with path ids that are sometimes
those of real records of the test world. Every answer must be documented: no 5xx, a documented
status, the documented content type and body schema.

Seeded (``derandomize``) and bounded (``FUZZ_EXAMPLES`` per operation, default 12), so the run
is repeatable and takes a minute or two on two cores.
"""
from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.factories import headers

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ROLES = ("parent_1", "kader_a1", "staff_a", "dinkes_gresik", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _served_document() -> dict:
    """The document as the app serves it (read at collection time, from an app of the same code;
    the requests then go to the test session's app and database)."""
    from posyandu import create_app
    from posyandu.config import TESTING_OVERRIDES
    app = create_app({**TESTING_OVERRIDES, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


#: The coverage phase (boundary values of every parameter: huge integers, NUL, year 0, ...) and
#: the fuzzing phase (``EXAMPLES`` random valid and invalid requests per operation).
PHASES = os.environ.get("FUZZ_PHASES", "coverage,fuzzing").split(",")
CONFIG = schemathesis.Config.from_dict({"phases": {
    name: {"enabled": name in PHASES} for name in ("examples", "coverage", "fuzzing", "stateful")}})
schema = schemathesis.openapi.from_dict(_served_document(), config=CONFIG)


def _real_ids(world) -> dict:
    """Path parameters pointing at records of the test world (the rest stay generated)."""
    return {"child_id": str(world.child_a1.id), "posyandu_id": world.posyandu_a1.id,
            "puskesmas_id": world.puskesmas_a.id, "user_id": world.kader_a1.id,
            "kabupaten_code": "35.25", "code": "35.25"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, app, client, world, _limiter_reset, _turns, _firebase):
    turn = next(_turns)  # (client: connects the fresh-g-per-request hook of tests/conftest.py)
    role, real = ROLES[turn % len(ROLES)], (turn // len(ROLES)) % 2 == 0   # every role, real ids or not
    if real and case.path_parameters:
        ids = _real_ids(world)
        case.path_parameters = {k: ids.get(k, v) for k, v in case.path_parameters.items()}
    response = case.call_and_validate(app=app, headers=headers(getattr(world, role)), checks=CHECKS)
    if os.environ.get("FUZZ_LOG"):
        with open(os.environ["FUZZ_LOG"], "a") as log:
            log.write(f"{case.method} {case.path} {role} {real} {response.status_code} {response.content[:200]!r}\n")


@pytest.fixture
def _turns():
    """Counts the examples of one operation: the roles take turns (deterministic, like the seed)."""
    return itertools.count()


@pytest.fixture
def _limiter_reset(app):
    """Sign-in limits are per test: fuzzed failed sign-ins must not leak into other tests. The
    session app's memory storage is put back first (a production-app test may have left the
    limiter singleton on the machine's Redis, where a reset would wipe every run's keys)."""
    from posyandu.extensions import limiter

    def reset():
        limiter.init_app(app)
        with app.app_context():
            limiter.reset()
    reset()
    yield
    reset()
