"""/metrics under gunicorn with two workers (deploy/gunicorn.conf.py, multiprocess mode): any
worker's answer counts the requests of both."""
from __future__ import annotations

import re
import socket
import time

import pytest

from .processes import Gunicorn, app_environment, request

TOKEN = "gunicorn-metrics-test-token-0123456789"
UNMATCHED = re.compile(r'posyandu_http_request_duration_seconds_count\{method="GET",'
                       r'route="<unmatched>",status="404"\} (\S+)')


@pytest.mark.real_commits
def test_a_scrape_adds_up_the_workers(database_url, tmp_path):
    env = app_environment(database_url, METRICS_TOKEN=TOKEN)
    with Gunicorn(env, tmp_path / "gunicorn.log", workers=2) as api:
        # Hold one worker with an unfinished request, so the next ten go to the other one.
        held = socket.create_connection(("127.0.0.1", api.port), timeout=30)
        try:
            held.sendall(b"GET /no-such-page HTTP/1.1\r\nHost: test\r\n")
            time.sleep(0.5)
            for _ in range(10):
                assert request(api.port, "GET", "/no-such-page")[0] == 404
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.recv(64).startswith(b"HTTP/1.1 404")
        finally:
            held.close()
        totals = set()
        for _ in range(6):  # whichever worker answers, it reports both workers' requests
            status, _, body = request(api.port, "GET", "/metrics",
                                      headers={"Authorization": f"Bearer {TOKEN}"})
            assert status == 200
            totals.add(float(UNMATCHED.search(body).group(1)))
        assert totals == {11.0}
        assert "Traceback" not in api.output()
