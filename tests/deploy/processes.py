"""Helpers for the deployment tests: gunicorn and flask subprocesses on ephemeral ports, plain
HTTP (http.client) to them. Not a test module."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_environment(database_url: str, **extra: str) -> dict:
    """Development settings (no production secrets needed) plus ``extra``."""
    env = {**os.environ, "FLASK_APP": "posyandu", "POSYANDU_ENV": "development",
           "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    for key in ("FCM_ENDPOINT_URL", "FCM_DRY_RUN", "FIREBASE_AUTH_EMULATOR_HOST", "METRICS_TOKEN",
                "METRICS_ALLOWED_NETWORKS", "PROMETHEUS_MULTIPROC_DIR", "RATELIMIT_STORAGE_URI",
                "PROXY_FIX_X_FOR"):
        env.pop(key, None)
    env.update(extra)
    return env


def request(port: int, method: str, path: str, body=None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, object]:
    """One request on its own connection -> (status, headers, parsed JSON or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        sent = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body)
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        content_type = response.getheader("Content-Type", "")
        parsed = json.loads(data) if data and "json" in content_type else data.decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed
    finally:
        connection.close()


class Gunicorn:
    """``gunicorn -c deploy/gunicorn.conf.py wsgi:app`` on a free loopback port."""

    def __init__(self, env: dict, log_path: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers)}
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.output()}")
            try:
                if request(self.port, "GET", "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"gunicorn did not come up: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()

    def __enter__(self) -> "Gunicorn":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def flask(env: dict, *args: str, timeout: float = 120) -> str:
    """Run ``python -m flask ...`` (or ``-m tests.deploy.seed`` when args[0] is "seed")."""
    module = ["-m", "tests.deploy.seed"] if args[0] == "seed" else ["-m", "flask"]
    argv = [sys.executable, *module, *(args[1:] if args[0] == "seed" else args)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    return done.stdout
