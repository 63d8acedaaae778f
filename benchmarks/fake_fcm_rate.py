"""Throughput of the local fake FCM, and of firebase-admin's send_each against it.

Not a test. Starts ``python -m posyandu.devtools.fake_google`` as a separate process (or uses
``--fake-url``), then measures:

1. raw fake capacity: keep-alive HTTP/1.1 requests/s from N lightweight raw-socket clients
   (so later benchmarks know the fake is not their bottleneck);
2. raw ``messaging.send_each`` msg/s through the real SDK (static bearer token, route A);
3. ``FcmSender.send`` msg/s (chunks of 100, what the outbox worker will do).

Usage: .venv/bin/python benchmarks/fake_fcm_rate.py [--messages 5000] [--batch 500] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import firebase_admin  # noqa: E402
from firebase_admin import messaging  # noqa: E402
from google.oauth2.credentials import Credentials  # noqa: E402

from posyandu.devtools.firebase_local import point_messaging_at  # noqa: E402
from posyandu.notifications import FcmSender, Push  # noqa: E402

PROJECT = "demo-posyandu"


def start_fake() -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "posyandu.devtools.fake_google", "--port", "0",
                             "--project", PROJECT], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("FAKE_GOOGLE_READY "):
        proc.kill()
        raise SystemExit(f"fake did not start: {line!r}")
    return proc, line.split()[1]


def raw_capacity(base_url: str, total: int, connections: int) -> float:
    host, port = base_url.removeprefix("http://").split(":")
    body = json.dumps({"message": {"token": "bench-raw",
                                   "notification": {"title": "t", "body": "b"},
                                   "android": {"collapse_key": "rem-1", "priority": "high",
                                               "notification": {"tag": "rem-1"}}}}).encode()
    request = (f"POST /v1/projects/{PROJECT}/messages:send HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Authorization: Bearer bench\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    per_conn = total // connections
    errors: list[str] = []

    def worker() -> None:
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rfile = sock.makefile("rb")
        for _ in range(per_conn):
            sock.sendall(request)
            status = rfile.readline()
            length = 0
            while True:
                line = rfile.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            rfile.read(length)
            if b" 200 " not in status:
                errors.append(status.decode())
                break
        sock.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"raw client got errors: {errors[:3]}")
    return per_conn * connections / elapsed


def sdk_send_each_rate(base_url: str, messages: int, batch: int) -> float:
    app = firebase_admin.initialize_app(Credentials("bench-token"),
                                        {"projectId": PROJECT, "httpTimeout": 10},
                                        name=f"bench-{uuid.uuid4().hex}")
    try:
        point_messaging_at(app, base_url)
        msgs = [messaging.Message(fid=f"bench-{i}", notification=messaging.Notification("t", "b"),
                                  android=messaging.AndroidConfig(collapse_key=f"rem-{i}",
                                                                  priority="high"))
                for i in range(batch)]
        messaging.send_each(msgs[:50], app=app)  # warm-up: pool + threads
        started = time.perf_counter()
        sent = 0
        while sent < messages:
            resp = messaging.send_each(msgs, app=app)
            if resp.failure_count:
                raise SystemExit(f"{resp.failure_count} failures: {resp.responses[0].exception}")
            sent += len(msgs)
        return sent / (time.perf_counter() - started)
    finally:
        firebase_admin.delete_app(app)


def fcm_sender_rate(base_url: str, messages: int) -> float:
    with FcmSender(f"bench-sender-{uuid.uuid4().hex}", PROJECT, endpoint_url=base_url) as sender:
        pushes = [Push(reminder_id=i, title="Imunisasi besok", body="Posyandu Melati, 08:00",
                       fid=f"bench-{i}") for i in range(messages)]
        sender.send(pushes[:50])
        started = time.perf_counter()
        results = sender.send(pushes)
        elapsed = time.perf_counter() - started
        if not all(r.ok for r in results):
            raise SystemExit("FcmSender benchmark had failures")
        return len(results) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500, help="send_each size for (2), <=500")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8, help="raw client connections")
    parser.add_argument("--fake-url", help="use a running fake instead of starting one")
    args = parser.parse_args()

    proc = None
    base_url = args.fake_url
    if not base_url:
        proc, base_url = start_fake()
    try:
        print(f"fake: {base_url} (separate process); {os.cpu_count()} CPUs; "
              f"firebase-admin {firebase_admin.__version__}")
        rows = [
            (f"raw fake capacity (req/s, keep-alive, {args.connections} conns)",
             lambda: raw_capacity(base_url, args.messages, args.connections)),
            (f"SDK send_each({args.batch}) (msg/s)",
             lambda: sdk_send_each_rate(base_url, args.messages, args.batch)),
            ("FcmSender.send, chunks of 100 (msg/s)",
             lambda: fcm_sender_rate(base_url, args.messages)),
        ]
        for label, fn in rows:
            runs = [fn() for _ in range(args.runs)]
            print(f"{label:55s} median {statistics.median(runs):7.0f}   runs "
                  + " / ".join(f"{r:.0f}" for r in runs), flush=True)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
