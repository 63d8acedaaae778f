"""PostgreSQL restarts under load (a private server this test starts and stops, never the
shared one): the API answers 503 + Retry-After while it is down, with a few log lines and no
tracebacks; nothing it acknowledged is lost; after a restart with no traffic the first requests
on every worker succeed; the reminder worker keeps running and resumes sending."""
from __future__ import annotations

import json
import threading
import time
import uuid

import psycopg
import pytest

from . import private_postgres
from .processes import Gunicorn, app_environment, flask, request

pytestmark = [pytest.mark.postgres_only, pytest.mark.real_commits]


@pytest.fixture(scope="module")
def server():
    reason = private_postgres.available()
    if reason:
        pytest.skip(reason)
    pg = private_postgres.PrivatePostgres()
    try:
        pg.start()
        url = pg.create_database("posyandu")
        env = app_environment(url)
        flask(env, "db", "upgrade")
        world = json.loads(flask(env, "seed", "world").strip().splitlines()[-1])
        yield pg, url, world
    finally:
        pg.close()


class Load:
    """Two clients POSTing measurements (new UUIDs) back to back until stopped."""

    def __init__(self, port: int, token: str, child_id: str) -> None:
        self.port, self.token, self.child_id = port, token, child_id
        self.results: list[tuple[str, int, dict, object]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(2)]

    def _run(self) -> None:
        while not self.stop.is_set():
            mid = str(uuid.uuid4())
            body = {"id": mid, "child_id": self.child_id, "measured_on": "2025-03-15",
                    "weight_kg": 9.0, "length_cm": 75.0, "measure_method": "lying"}
            try:
                status, headers, reply = request(self.port, "POST", "/api/v1/measurements", body,
                                                 headers={"Authorization": f"Bearer {self.token}"})
            except OSError as exc:  # the API itself must stay up: record it as a failure
                status, headers, reply = -1, {}, repr(exc)
            self.results.append((mid, status, headers, reply))

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _login(port: int, world: dict) -> tuple[int, dict]:
    status, _, body = request(port, "POST", "/api/v1/auth/login",
                              {"login": world["kader"], "password": world["password"]})
    return status, body


def test_api_through_a_restart_under_load_and_a_restart_without_traffic(server, tmp_path):
    pg, url, world = server
    env = app_environment(url, LOG_LEVEL="WARNING")
    with Gunicorn(env, tmp_path / "gunicorn.log", workers=2) as api:
        status, body = _login(api.port, world)
        assert status == 200, body
        token = body["access_token"]

        with Load(api.port, token, world["child_id"]) as load:
            time.sleep(1.0)
            before_stop = len(load.results)  # answered before the stop began
            pg.stop("fast")
            time.sleep(3.0)
            pg.start()
            up_from = len(load.results)
            time.sleep(2.0)
        results = load.results
        statuses = [status for _, status, _, _ in results]
        assert set(statuses) <= {201, 503}, sorted(set(statuses))
        assert 503 in statuses[before_stop:up_from + 2], "the outage was not seen"
        assert statuses[:before_stop] == [201] * before_stop and statuses[-1] == 201
        for _, status, headers, reply in results:
            if status == 503:
                assert headers["content-type"].startswith("application/problem+json")
                assert int(headers["retry-after"]) > 0
                assert reply["type"].endswith("database-unavailable")

        acknowledged = {mid for mid, status, _, _ in results if status == 201}
        with psycopg.connect(url) as connection:
            stored = {str(row[0]) for row in connection.execute(
                "SELECT id FROM measurement WHERE id = ANY(%s)", [list(acknowledged)])}
        assert stored == acknowledged  # nothing acknowledged was lost

        log = api.output()
        assert "Traceback" not in log
        unavailable = [line for line in log.splitlines() if "database unavailable" in line]
        assert 1 <= len(unavailable) <= 2, unavailable  # one per worker, not one per request
        refused = statuses.count(503)
        assert refused > len(unavailable)

        # A restart while nobody uses the API: the pooled connections of both workers are dead.
        pg.stop("fast")
        pg.start()
        answers = [_login(api.port, world)[0] for _ in range(6)]
        answers += [request(api.port, "GET", "/api/v1/children",
                            headers={"Authorization": f"Bearer {token}"})[0] for _ in range(6)]
        assert answers == [200] * 12
        assert "Traceback" not in api.output()


def _statuses(url: str, ids: list[int]) -> dict[int, str]:
    with psycopg.connect(url) as connection:
        return dict(connection.execute(
            "SELECT id, status FROM reminder_delivery WHERE id = ANY(%s)", [ids]).fetchall())


def _wait_sent(url: str, ids: list[int], worker, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(_statuses(url, ids).values()) == {"sent"}:
            return
        assert worker.poll() is None, f"the worker exited: {worker.communicate()}"
        time.sleep(0.2)
    raise AssertionError(f"not sent in time: {_statuses(url, ids)}")


def test_reminder_worker_survives_a_database_restart(server, fake, tmp_path):
    import signal
    import subprocess
    import sys

    from .processes import ROOT
    pg, url, world = server
    env = app_environment(url, FCM_ENDPOINT_URL=fake.base_url, REMINDER_IDLE_SECONDS="0.2",
                          LOG_LEVEL="WARNING")
    before = json.loads(flask(env, "seed", "outbox", "3", "ok-before").strip().splitlines()[-1])
    worker = subprocess.Popen([sys.executable, "-m", "flask", "reminders", "worker",
                               "--worker-id", "restart-test"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_sent(url, before, worker)
        pg.stop("fast")
        time.sleep(2.0)
        assert worker.poll() is None, "the worker died with the database"
        pg.start()
        after = json.loads(flask(env, "seed", "outbox", "3", "ok-after").strip().splitlines()[-1])
        _wait_sent(url, after, worker)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert "database unavailable" in err and "database reachable again" in err
    assert "Traceback" not in err
    assert "worker restart-test stopped: claimed=6 sent=6" in out
