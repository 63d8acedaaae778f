"""Structured request logging that never carries a child's name or NIK.

We log ids, roles, routes, status codes and timings only. Request and response bodies are never
logged; a last-line filter masks anything that looks like a 16-digit NIK/KK number.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import g, request

_NIK_RE = re.compile(r"(?<!\d)(\d{4})\d{8}(\d{4})(?!\d)")


def mask_digits(text: str) -> str:
    return _NIK_RE.sub(r"\1********\2", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_digits(record.msg)
        if record.args:
            record.args = tuple(mask_digits(a) if isinstance(a, str) else a for a in record.args)
        return True


class JsonFormatter(logging.Formatter):
    _extra_keys = ("event", "request_id", "method", "route", "status", "duration_ms", "user_id", "role")

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in self._extra_keys:
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(app) -> None:
    root = logging.getLogger("posyandu")
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if not any(getattr(h, "_posyandu", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._posyandu = True
        handler.setFormatter(JsonFormatter() if app.config.get("LOG_JSON") else
                             logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
        root.propagate = False
    access = logging.getLogger("posyandu.access")

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        if started is not None and access.isEnabledFor(logging.INFO):
            # request.url_rule is the route *template* (no ids, no query strings).
            rule = request.url_rule.rule if request.url_rule else "<unmatched>"
            access.info("%s %s %s", request.method, rule, response.status_code, extra={
                "event": "request", "request_id": g.get("request_id"), "method": request.method,
                "route": rule, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": g.get("current_user_id"), "role": g.get("current_role"),
            })
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
