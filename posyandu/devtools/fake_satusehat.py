"""A local fake of SATUSEHAT's OAuth2 and FHIR endpoints, for tests and development only.

Never imported by production code. On one plain-HTTP port on 127.0.0.1 (port 0 = ephemeral):

* ``POST /oauth2/v1/accesstoken?grant_type=client_credentials`` with form fields
  ``client_id``/``client_secret``: answers like SATUSEHAT (``access_token``, ``expires_in`` as a
  string, ``token_type: BearerToken``); wrong credentials → 401.
* ``POST /fhir-r4/v1/{Type}``: stores the resource under a new server id (201, ``Location``),
  honouring ``If-None-Exist: identifier=system|value`` (200 with the existing resource);
  ``PUT /fhir-r4/v1/{Type}/{id}`` replaces it (404 for an unknown id; a new ``versionId``);
  ``GET /fhir-r4/v1/{Type}/{id}`` and ``GET /fhir-r4/v1/{Type}?identifier=system|value``
  (searchset Bundle). Every FHIR call needs a valid bearer token (401 otherwise).
* It records every request it received (method, path, resource type, body) in ``requests``.

Failure knobs (thread-safe; each applies to the next FHIR calls):

* ``revoke_tokens()``: every issued token becomes invalid (the next call answers 401 once the
  client's cached token is used: the client must fetch a new one);
* ``fail_next(status, times=1, retry_after=None)``: answer ``status`` (429, 500, 503, ...) to
  the next ``times`` FHIR calls without doing anything;
* ``die_after(n)``: after ``n`` more writes, the next write is STORED but its connection is
  dropped without an answer, and the server then drops every connection until ``revive()``
  (a server or network dying mid-batch: the client never learns the id of the last create).

Run ``python -m posyandu.devtools.fake_satusehat --port 8932`` for development; it prints
``FAKE_SATUSEHAT_READY http://127.0.0.1:8932`` and the settings to export.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import secrets
import signal
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeSatusehat", "AUTH_PATH", "FHIR_PATH"]

AUTH_PATH = "/oauth2/v1"
FHIR_PATH = "/fhir-r4/v1"
DEFAULT_CLIENT_ID = "fake-client-id"
DEFAULT_CLIENT_SECRET = "fake-client-secret"
DEFAULT_ORGANIZATION_ID = "100000001"
MAX_BODY_BYTES = 2 << 20
_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]+$")


class _DropConnection(Exception):
    """Close the socket without writing an answer."""


def _outcome(code: str, text: str, expression: str | None = None) -> dict:
    issue: dict[str, Any] = {"severity": "error", "code": code, "details": {"text": text}}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, fake: "FakeSatusehat"):
        self.fake = fake
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSatusehat/1.0"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._reply(413, _outcome("too-costly", "request too large"), {})
            return
        body = self.rfile.read(length) if length else b""
        try:
            status, payload, headers = self.server.fake._handle(method, self.path, self.headers, body)
        except _DropConnection:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except Exception as exc:  # the fake must never hang a client
            status, payload, headers = 500, _outcome("exception", f"fake crashed: {exc!r}"), {}
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/fhir+json; charset=UTF-8",
                 f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)


class FakeSatusehat:
    """In-memory SATUSEHAT-like server. ``with FakeSatusehat() as fake:`` starts it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, token_lifetime: int = 14399):
        self.host, self.port = host, port
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> str:
        if self._server is None:
            self._server = _Server((self.host, self.port), self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"FakeSatusehat:{self.port}", daemon=True)
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeSatusehat":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def fhir_url(self) -> str:
        return self.base_url + FHIR_PATH

    @property
    def auth_url(self) -> str:
        return self.base_url + AUTH_PATH

    def settings(self, organization_id: str = DEFAULT_ORGANIZATION_ID) -> dict:
        """App config pointing at this fake."""
        return {"SATUSEHAT_BASE_URL": self.fhir_url, "SATUSEHAT_AUTH_URL": self.auth_url,
                "SATUSEHAT_CLIENT_ID": self.client_id, "SATUSEHAT_CLIENT_SECRET": self.client_secret,
                "SATUSEHAT_ORGANIZATION_ID": organization_id}

    # --- knobs ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.store: dict[str, dict[str, dict]] = {}
            self.requests: list[dict] = []
            self.token_requests = 0
            self._tokens: set[str] = set()
            self._failures: list[tuple[int, float | None]] = []
            self._writes_before_death: int | None = None
            self._dead = False
            self._ids = itertools.count(1)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures += [(status, retry_after)] * times

    def die_after(self, writes: int) -> None:
        with self._lock:
            self._writes_before_death = writes

    def revive(self) -> None:
        with self._lock:
            self._dead = False
            self._writes_before_death = None

    # --- views for tests --------------------------------------------------------------------
    def resources(self, resource_type: str) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self.store.get(resource_type, {}).values()]

    def writes(self, method: str | None = None, resource_type: str | None = None) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["method"] in ("POST", "PUT")
                    and (method is None or r["method"] == method)
                    and (resource_type is None or r["resource_type"] == resource_type)]

    # --- request handling -------------------------------------------------------------------
    def _handle(self, method: str, raw_path: str, headers, body: bytes):
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        with self._lock:
            if self._dead:
                raise _DropConnection()
            if parts.path == AUTH_PATH + "/accesstoken" and method == "POST":
                return self._token(query, body)
            if not parts.path.startswith(FHIR_PATH + "/"):
                return 404, _outcome("not-found", "unknown path"), {}
            segments = parts.path[len(FHIR_PATH) + 1:].split("/")
            resource_type = segments[0]
            record = {"method": method, "path": parts.path, "resource_type": resource_type,
                      "at": time.time(), "body": None}
            self.requests.append(record)
            auth = headers.get("Authorization") or ""
            if not auth.startswith("Bearer ") or auth[7:] not in self._tokens:
                return 401, _outcome("login", "invalid or expired access token"), {}
            if self._failures:
                status, retry_after = self._failures.pop(0)
                extra = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
                return status, _outcome("transient", f"injected {status}"), extra
            if not _TYPE_RE.match(resource_type):
                return 404, _outcome("not-supported", "unknown resource type"), {}
            if method == "GET":
                return self._read(resource_type, segments, query)
            try:
                resource = json.loads(body or b"null")
            except ValueError:
                return 400, _outcome("structure", "body is not JSON"), {}
            record["body"] = resource
            if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
                return 400, _outcome("invalid", "resourceType does not match the URL", "resourceType"), {}
            if method == "POST" and len(segments) == 1:
                answer = self._create(resource_type, resource, headers.get("If-None-Exist"))
            elif method == "PUT" and len(segments) == 2:
                answer = self._update(resource_type, segments[1], resource)
            else:
                return 405, _outcome("not-supported", "method not allowed"), {}
            if answer[0] in (200, 201) and self._writes_before_death is not None:
                if self._writes_before_death <= 0:
                    self._dead = True
                    raise _DropConnection()  # stored, but the client never hears about it
                self._writes_before_death -= 1
            return answer

    def _token(self, query, body: bytes):
        self.token_requests += 1
        form = parse_qs(body.decode("utf-8", "replace"))
        if query.get("grant_type") != ["client_credentials"]:
            return 400, {"error": "unsupported_grant_type"}, {}
        if form.get("client_id") != [self.client_id] or form.get("client_secret") != [self.client_secret]:
            return 401, {"fault": {"faultstring": "Invalid client identifier"}}, {}
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return 200, {"token_type": "BearerToken", "access_token": token, "expires_in": str(self.token_lifetime),
                     "client_id": self.client_id, "status": "approved", "issued_at": str(int(time.time() * 1000))}, {}

    def _find(self, resource_type: str, identifier: str) -> dict | None:
        system, _, value = identifier.partition("|")
        for resource in self.store.get(resource_type, {}).values():
            for ident in resource.get("identifier") or []:
                if ident.get("system") == system and ident.get("value") == value:
                    return resource
        return None

    def _read(self, resource_type: str, segments: list[str], query):
        if len(segments) == 2:
            resource = self.store.get(resource_type, {}).get(segments[1])
            return (200, resource, {}) if resource else (404, _outcome("not-found", "no such resource"), {})
        identifier = (query.get("identifier") or [None])[0]
        if identifier:
            hits = [self._find(resource_type, identifier)]
        else:
            hits = list(self.store.get(resource_type, {}).values())
        entries = [{"fullUrl": f"{self.fhir_url}/{resource_type}/{r['id']}", "resource": r} for r in hits if r]
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}, {}

    def _create(self, resource_type: str, resource: dict, if_none_exist: str | None):
        if if_none_exist:
            key, _, identifier = if_none_exist.partition("=")
            existing = self._find(resource_type, identifier) if key == "identifier" else None
            if existing is not None:
                return 200, existing, {}
        if "id" in resource:
            return 400, _outcome("invalid", "a create must not carry an id", "id"), {}
        server_id = f"{resource_type[:3].upper()}{next(self._ids):08d}"
        stored = {**resource, "id": server_id, "meta": {"versionId": "1"}}
        self.store.setdefault(resource_type, {})[server_id] = stored
        return 201, stored, {"Location": f"{self.fhir_url}/{resource_type}/{server_id}/_history/1"}

    def _update(self, resource_type: str, server_id: str, resource: dict):
        existing = self.store.get(resource_type, {}).get(server_id)
        if existing is None:
            return 404, _outcome("not-found", "no such resource"), {}
        if resource.get("id") != server_id:
            return 400, _outcome("invalid", "id does not match the URL", "id"), {}
        version = int(existing.get("meta", {}).get("versionId", "1")) + 1
        stored = {**resource, "meta": {"versionId": str(version)}}
        self.store[resource_type][server_id] = stored
        return 200, stored, {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    fake = FakeSatusehat(port=args.port)
    fake.start()
    print(f"FAKE_SATUSEHAT_READY {fake.base_url}", flush=True)
    for key, value in fake.settings().items():
        print(f"export {key}={value}", flush=True)
    print("export SATUSEHAT_ALLOW_INSECURE_URL=1  # only needed when POSYANDU_ENV=production", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
