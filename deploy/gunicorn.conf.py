"""gunicorn settings for PosyanduGo: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Sync workers, one per core (requests are CPU-bound; see the README's benchmark notes), bound
to the loopback behind nginx (deploy/nginx/posyandu.conf). Each worker imports ``wsgi.py``
itself (no ``preload_app``), so a worker that crashed comes back with fresh pools.

Metrics: with ``METRICS_TOKEN`` or ``METRICS_ALLOWED_NETWORKS`` set, every worker keeps its
Prometheus values in files under ``PROMETHEUS_MULTIPROC_DIR`` (default: a ``metrics``
directory in systemd's ``RUNTIME_DIRECTORY``, else in the temp directory) and ``/metrics``
adds them up; the directory is emptied when gunicorn starts and a dead worker's live gauges
are dropped (``child_exit``).
"""
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "sync"
timeout = 60            # a first pull of a big posyandu takes ~1 s; a stuck worker is recycled
graceful_timeout = 30   # SIGTERM: finish the requests in flight
# The app logs one JSON line per request itself (ids, route template, status, timing only).
accesslog = None
errorlog = "-"
loglevel = "info"
# nginx on the same machine sets X-Forwarded-Proto; the app's PROXY_FIX_* settings decide
# what it trusts (client address), this only lets gunicorn see https.
forwarded_allow_ips = "127.0.0.1,::1"

_metrics_on = bool(os.environ.get("METRICS_TOKEN") or os.environ.get("METRICS_ALLOWED_NETWORKS"))
_own_directory = _metrics_on and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_directory:
    _runtime = (os.environ.get("RUNTIME_DIRECTORY") or "").split(":")[0] or tempfile.gettempdir()
    # Set before any worker imports prometheus_client (workers inherit the environment).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(_runtime, f"posyandu-metrics-{os.getpid()}")


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)  # values of a previous run are not ours
        os.makedirs(directory, mode=0o700, exist_ok=True)


def on_exit(server):
    if _own_directory:  # ours, not the administrator's: leave nothing behind
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
