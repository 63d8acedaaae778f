"""A local fake of the Google endpoints PosyanduGo talks to, for tests, benchmarks and dev mode.

Never imported by production code. It serves, on one plain-HTTP port on 127.0.0.1:

* FCM v1 ``POST /v1/projects/{p}/messages:send``: validates the request roughly like FCM does
  (enough to catch our mistakes), answers ``{"name": "projects/{p}/messages/{id}"}`` and records
  every accepted message. The outcome is chosen by the prefix of the token / FID, so tests are
  deterministic (see ``TOKEN PREFIXES`` below). Error bodies use FCM's real v1 format, so the
  real firebase-admin maps them to ``messaging.UnregisteredError``, ``QuotaExceededError``,
  ``SenderIdMismatchError``, ``exceptions.InvalidArgumentError``, ``UnavailableError``,
  ``InternalError``.
* OAuth2 ``POST /token``: so a ``credentials.Certificate`` whose ``token_uri`` points here runs
  the real JWT-bearer refresh (see :meth:`FakeGoogle.service_account_info`).
* ``GET /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com``: the x509 certificates
  of a throwaway RSA key generated at start, so ``auth.verify_id_token`` runs its real RS256
  path on tokens from :meth:`FakeGoogle.make_id_token`.
* Identity Toolkit ``POST /v1/projects/{p}/accounts:lookup`` (used by ``get_user`` and
  ``verify_id_token(check_revoked=True)``), ``accounts:update`` (``update_user``,
  ``revoke_refresh_tokens``), ``accounts`` (``create_user``) and ``accounts:delete``, over a
  small in-memory user store.
* Control endpoints: ``GET /_fake/messages``, ``GET /_fake/stats``, ``POST /_fake/reset``,
  ``POST /_fake/mode``, ``POST /_fake/users``, ``POST /_fake/id-token``, ``GET /_fake/health``.

TOKEN PREFIXES (token or fid; anything else succeeds)::

    unregistered-*   404 NOT_FOUND         FcmError UNREGISTERED        -> UnregisteredError
    invalid-*        400 INVALID_ARGUMENT  FcmError INVALID_ARGUMENT + BadRequest on
                                           message.token / message.fid  -> InvalidArgumentError
    senderid-*       403 PERMISSION_DENIED FcmError SENDER_ID_MISMATCH  -> SenderIdMismatchError
    quota-*          429 RESOURCE_EXHAUSTED FcmError QUOTA_EXCEEDED     -> QuotaExceededError
                     (Retry-After only when ``quota_retry_after`` is set)
    flaky503xN-*     503 for the first N attempts of that target, then success
    down-*           503 UNAVAILABLE always                             -> UnavailableError
    internal-*       500 INTERNAL always                                -> InternalError
    slow-*           sleeps ``slow_seconds`` then succeeds; ``slow250ms-*`` sleeps 250 ms

Remember the SDK's own urllib3 retries: 500/503 are retried 4 times with 0+1+2+4 s of backoff
(about 7 s per message), and 429/503 *with* a Retry-After header are retried sleeping that long.
Keep tests fast with ``flaky503x1-*`` (one retry, no sleep), no Retry-After, or a no-backoff
adapter (``firebase_local.point_firebase_at(..., retries=...)``).

Run in-process (``with FakeGoogle() as fake: fake.base_url``) or as a separate process::

    python -m posyandu.devtools.fake_google --port 8931

which prints ``FAKE_GOOGLE_READY http://127.0.0.1:8931`` once it listens.
"""
from __future__ import annotations

import argparse
import base64
import collections
import copy
import datetime as _dt
import itertools
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

__all__ = ["FakeGoogle", "SECURETOKEN_CERT_PATH", "DEFAULT_PROJECT_ID", "DEFAULT_KID"]

DEFAULT_PROJECT_ID = "demo-posyandu"
DEFAULT_KID = "fake-kid-1"
SECURETOKEN_CERT_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_BODY_BYTES = 1 << 20
FCM_MAX_PAYLOAD_BYTES = 4096
MODES = ("unavailable", "internal", "quota")

_SEND_RE = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
_ACCOUNTS_RE = re.compile(r"^/v1/projects/([^/]+)/accounts(?::(lookup|update|delete))?$")
_FLAKY_RE = re.compile(r"^flaky503x(\d+)-")
_SLOW_MS_RE = re.compile(r"^slow(\d+)ms-")

_MESSAGE_KEYS = {"name", "data", "notification", "android", "webpush", "apns", "fcm_options",
                 "token", "topic", "condition", "fid"}
_TARGET_KEYS = ("token", "fid", "topic", "condition")
_NOTIFICATION_KEYS = {"title", "body", "image"}
_ANDROID_KEYS = {"collapse_key", "priority", "ttl", "restricted_package_name", "data",
                 "notification", "fcm_options", "direct_boot_ok", "bandwidth_constrained_ok",
                 "restricted_satellite_ok"}
_ANDROID_NOTIFICATION_KEYS = {
    "title", "body", "icon", "color", "sound", "tag", "click_action", "body_loc_key",
    "body_loc_args", "title_loc_key", "title_loc_args", "channel_id", "ticker", "sticky",
    "event_time", "local_only", "notification_priority", "default_sound",
    "default_vibrate_timings", "default_light_settings", "vibrate_timings", "visibility",
    "notification_count", "light_settings", "image", "proxy"}
_RESERVED_DATA_KEYS = {"from", "notification", "message_type"}
_TTL_RE = re.compile(r"^\d+(\.\d{1,9})?s$")
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _epoch(value: Any) -> int:
    if value is None:
        return int(time.time())
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp())
    return int(value)


def _google_error(code: int, status: str, message: str, details: list | None = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        err["details"] = details
    return {"error": err}


def _fcm_error(code: int, status: str, fcm_code: str, message: str,
               violations: list[tuple[str, str]] | None = None) -> dict:
    details: list[dict] = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}]
    if violations:
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [
            {"field": f, "description": d} for f, d in violations]})
    return _google_error(code, status, message, details)


def validate_send_request(req: Any) -> list[tuple[str, str]]:
    """Return FCM-style field violations for a ``messages:send`` body (empty when valid)."""
    if not isinstance(req, dict):
        return [("", "Invalid JSON payload received. Expected an object.")]
    problems: list[tuple[str, str]] = []
    for key in req:
        if key not in ("message", "validate_only", "validateOnly"):
            problems.append((key, f'Invalid JSON payload received. Unknown name "{key}": '
                                  "Cannot find field."))
    if "validate_only" in req and not isinstance(req["validate_only"], bool):
        problems.append(("validate_only", "must be a boolean"))
    msg = req.get("message")
    if not isinstance(msg, dict):
        problems.append(("message", "Request contains an invalid argument: message is required"))
        return problems
    for key in msg:
        if key not in _MESSAGE_KEYS:
            problems.append((f"message.{key}", f'Invalid JSON payload received. Unknown name '
                                               f'"{key}" at \'message\': Cannot find field.'))
    targets = [k for k in _TARGET_KEYS if k in msg]
    if len(targets) != 1:
        problems.append(("message", "Exactly one of token, fid, topic or condition must be set; "
                                    f"got {targets or 'none'}"))
    for k in targets:
        if not isinstance(msg[k], str) or not msg[k]:
            problems.append((f"message.{k}", "must be a non-empty string"))
    problems += _check_string_map(msg.get("data"), "message.data", data=True)
    notification = msg.get("notification")
    if notification is not None:
        problems += _check_flat_strings(notification, "message.notification", _NOTIFICATION_KEYS)
    android = msg.get("android")
    if android is not None:
        problems += _check_android(android)
    for key in ("apns", "webpush", "fcm_options"):
        if key in msg and not isinstance(msg[key], dict):
            problems.append((f"message.{key}", "must be an object"))
    size = len(json.dumps({"data": msg.get("data"), "notification": msg.get("notification")},
                          separators=(",", ":")).encode())
    if size > FCM_MAX_PAYLOAD_BYTES:
        problems.append(("message", f"Message is too big ({size} > {FCM_MAX_PAYLOAD_BYTES} bytes)"))
    return problems


def _check_string_map(value: Any, where: str, data: bool = False) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [(where, "must be a map of string to string")]
    problems = []
    for k, v in value.items():
        if not isinstance(v, str):
            problems.append((f"{where}[{k}]",
                             f"Invalid value at '{where}[{k}]': expected a string"))
        if data and (k in _RESERVED_DATA_KEYS or k.startswith(("google.", "gcm."))):
            problems.append((f"{where}[{k}]", f"Invalid data key '{k}': reserved word or prefix"))
    return problems


def _check_flat_strings(value: Any, where: str, allowed: set[str]) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return [(where, "must be an object")]
    problems = []
    for k, v in value.items():
        if k not in allowed:
            problems.append((f"{where}.{k}", f'Unknown name "{k}": Cannot find field.'))
        elif not isinstance(v, str):
            problems.append((f"{where}.{k}", "must be a string"))
    return problems


def _check_android(android: Any) -> list[tuple[str, str]]:
    where = "message.android"
    if not isinstance(android, dict):
        return [(where, "must be an object")]
    problems = []
    for k in android:
        if k not in _ANDROID_KEYS:
            problems.append((f"{where}.{k}", f'Unknown name "{k}": Cannot find field.'))
    if "collapse_key" in android and not isinstance(android["collapse_key"], str):
        problems.append((f"{where}.collapse_key", "must be a string"))
    if "priority" in android and android["priority"] not in ("normal", "high", "NORMAL", "HIGH"):
        problems.append((f"{where}.priority", f"Invalid value: {android['priority']!r}"))
    if "ttl" in android and not (isinstance(android["ttl"], str) and _TTL_RE.match(android["ttl"])):
        problems.append((f"{where}.ttl", "Invalid duration, expected e.g. '3600s'"))
    problems += _check_string_map(android.get("data"), f"{where}.data", data=True)
    notif = android.get("notification")
    if notif is not None:
        if not isinstance(notif, dict):
            problems.append((f"{where}.notification", "must be an object"))
        else:
            for k, v in notif.items():
                if k not in _ANDROID_NOTIFICATION_KEYS:
                    problems.append((f"{where}.notification.{k}",
                                     f'Unknown name "{k}": Cannot find field.'))
            for k in ("title", "body", "tag", "channel_id", "icon", "sound", "click_action",
                      "color", "image", "ticker"):
                if k in notif and not isinstance(notif[k], str):
                    problems.append((f"{where}.notification.{k}", "must be a string"))
            if isinstance(notif.get("color"), str) and not _COLOR_RE.match(notif["color"]):
                problems.append((f"{where}.notification.color", "must be #RRGGBB"))
    return problems


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # socketserver's default of 5 drops SYNs under 100 parallel connects

    def __init__(self, addr, fake: "FakeGoogle"):
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "FakeGoogle/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY a client that writes headers and body separately waits ~40 ms
        # for a delayed ACK (Nagle); we answer with one write anyway.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._reply(413, _google_error(413, "INVALID_ARGUMENT", "Request too large"), {})
            return
        body = self.rfile.read(length) if length else b""
        try:
            status, payload, headers = self.server.fake._handle(
                method, self.path, self.headers, body)
        except Exception as exc:  # the fake must never hang a client
            status, headers = 500, {}
            payload = _google_error(500, "INTERNAL", f"fake crashed: {exc!r}")
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}",
                 "Content-Type: application/json; charset=UTF-8",
                 f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        # One write per response: headers and body together.
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)


class FakeGoogle:
    """In-memory fake of FCM v1, OAuth2 token, securetoken certs and Identity Toolkit.

    Thread-safe. ``start()`` returns the base URL (``http://127.0.0.1:PORT``); use
    ``firebase_local.point_firebase_at(app, fake.base_url)`` to aim a real App at it.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 project_id: str = DEFAULT_PROJECT_ID,
                 require_auth: bool = True,
                 strict_tokens: bool = False,
                 quota_retry_after: float | None = None,
                 unavailable_retry_after: float | None = None,
                 slow_seconds: float = 1.0,
                 access_token_lifetime: int = 3600,
                 cert_max_age: int = 3600,
                 kid: str = DEFAULT_KID,
                 max_records: int = 100_000) -> None:
        self.host = host
        self.port = port
        self.project_id = project_id
        self.require_auth = require_auth
        self.strict_tokens = strict_tokens
        self.quota_retry_after = quota_retry_after
        self.unavailable_retry_after = unavailable_retry_after
        self.slow_seconds = slow_seconds
        self.access_token_lifetime = access_token_lifetime
        self.cert_max_age = cert_max_age
        self.kid = kid
        self.max_records = max_records  # recorded messages kept (oldest dropped); counts stay exact
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._signing_keys: dict[str, tuple[rsa.RSAPrivateKey, str]] = {}
        self._sa_public_keys: dict[str, Any] = {}
        self.add_signing_key(kid)
        self._users: dict[tuple[str, str], dict[str, Any]] = {}
        self._clear_traffic()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name=f"FakeGoogle:{self.port}", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with server.sockets_lock:  # wake keep-alive handler threads blocked in recv
            for sock in list(server.open_sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeGoogle":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def cert_url(self) -> str:
        return f"{self.base_url}{SECURETOKEN_CERT_PATH}"

    def fcm_send_url(self, project_id: str | None = None) -> str:
        return f"{self.base_url}/v1/projects/{project_id or self.project_id}/messages:send"

    # ------------------------------------------------------------------ inspection / control
    def _clear_traffic(self) -> None:
        self._messages: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=self.max_records)
        self._validated: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=self.max_records)
        self._accepted_total = 0
        self._validated_total = 0
        self._attempts: dict[str, int] = {}
        self._errors: dict[str, int] = {}
        self._counts = {"fcm_requests": 0, "token_requests": 0, "cert_requests": 0,
                        "identitytoolkit_requests": 0}
        self._access_tokens: list[str] = []
        self._token_grants: list[dict[str, Any]] = []
        self._mode: str | None = None
        self._mode_until: float | None = None
        self._mode_remaining: int | None = None

    def reset(self, *, users: bool = False) -> None:
        """Forget recorded traffic, attempt counters and the global mode (and users if asked)."""
        with self._lock:
            self._clear_traffic()
            if users:
                self._users.clear()

    def messages(self, *, include_validate_only: bool = False) -> list[dict[str, Any]]:
        """Accepted messages (deep copies), oldest first. Dry-run ones only if asked."""
        with self._lock:
            out = list(self._messages)
            if include_validate_only:
                out = sorted(out + list(self._validated), key=lambda m: m["seq"])
            return copy.deepcopy(out)

    @property
    def message_count(self) -> int:
        """Accepted (non-dry-run) messages since the last reset."""
        with self._lock:
            return self._accepted_total

    @property
    def validated_count(self) -> int:
        with self._lock:
            return self._validated_total

    def attempts(self, target: str) -> int:
        """How many well-formed send requests reached the fake for this token/fid/topic."""
        with self._lock:
            return self._attempts.get(target, 0)

    @property
    def access_tokens_issued(self) -> list[str]:
        with self._lock:
            return list(self._access_tokens)

    @property
    def token_grants(self) -> list[dict[str, Any]]:
        """Decoded claims of each JWT-bearer assertion the token endpoint received."""
        with self._lock:
            return copy.deepcopy(self._token_grants)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self._counts, "accepted": self._accepted_total,
                    "validated": self._validated_total, "errors": dict(self._errors),
                    "mode": self._mode}

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.message_count >= count:
                return True
            time.sleep(0.01)
        return self.message_count >= count

    def set_mode(self, mode: str | None, *, seconds: float | None = None,
                 requests: int | None = None) -> None:
        """Make every ``messages:send`` fail: ``"unavailable"`` (503), ``"internal"`` (500) or
        ``"quota"`` (429) for ``seconds`` and/or the next ``requests`` sends; ``None`` clears."""
        if mode in ("ok", "normal"):
            mode = None
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES} or None")
        with self._lock:
            self._mode = mode
            self._mode_until = time.monotonic() + seconds if (mode and seconds) else None
            self._mode_remaining = requests if mode else None

    def _take_mode(self) -> str | None:
        # caller holds the lock
        if self._mode is None:
            return None
        if self._mode_until is not None and time.monotonic() >= self._mode_until:
            self._mode = None
            return None
        if self._mode_remaining is not None:
            if self._mode_remaining <= 0:
                self._mode = None
                return None
            self._mode_remaining -= 1
        return self._mode

    # ------------------------------------------------------------------ keys, tokens, users
    def add_signing_key(self, kid: str) -> None:
        """Generate a new RSA key served in the securetoken certificate JSON under ``kid``."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = _dt.datetime.now(_dt.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "securetoken.system.gserviceaccount.com")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=30))
                .sign(key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        with self._lock:
            self._signing_keys[kid] = (key, pem)

    def remove_signing_key(self, kid: str) -> None:
        with self._lock:
            self._signing_keys.pop(kid, None)

    def certificates(self) -> dict[str, str]:
        with self._lock:
            return {kid: pem for kid, (_, pem) in self._signing_keys.items()}

    def private_key_pem(self, kid: str | None = None) -> bytes:
        with self._lock:
            key = self._signing_keys[kid or self.kid][0]
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def make_id_token(self, uid: str, phone_number: str | None = None,
                      project_id: str | None = None, *,
                      issued_at: Any = None, expires_in: int = 3600, kid: str | None = None,
                      auth_time: Any = None, audience: str | None = None,
                      issuer: str | None = None, sign_in_provider: str = "phone",
                      extra_claims: dict[str, Any] | None = None, register: bool = True) -> str:
        """A Firebase-style ID token signed RS256 with the fake's key.

        Claims as Firebase issues them for phone sign-in: ``iss``
        ``https://securetoken.google.com/{project}``, ``aud`` project, ``auth_time``, ``iat``,
        ``exp``, ``sub``/``user_id`` = uid, ``phone_number``, ``firebase.identities`` and
        ``firebase.sign_in_provider``. ``issued_at`` is a datetime or epoch seconds (default now).
        A ``kid`` not served by the cert endpoint signs with a throwaway key (verification then
        fails as with a forged token). ``register`` adds the uid to the user store if absent,
        so ``check_revoked=True`` finds it.
        """
        project = project_id or self.project_id
        iat = _epoch(issued_at)
        claims: dict[str, Any] = {
            "iss": issuer or f"https://securetoken.google.com/{project}",
            "aud": audience or project,
            "auth_time": _epoch(auth_time) if auth_time is not None else iat,
            "user_id": uid,
            "sub": uid,
            "iat": iat,
            "exp": iat + int(expires_in),
            "firebase": {"identities": {"phone": [phone_number]} if phone_number else {},
                         "sign_in_provider": sign_in_provider},
        }
        if phone_number:
            claims["phone_number"] = phone_number
        if extra_claims:
            claims.update(extra_claims)
        kid = kid or self.kid
        with self._lock:
            entry = self._signing_keys.get(kid)
        key = entry[0] if entry else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if register:
            with self._lock:
                if (project, uid) not in self._users:
                    self._users[(project, uid)] = self._new_user(uid, phone_number)
        return self._sign_rs256({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)

    @staticmethod
    def _sign_rs256(header: dict, claims: dict, key: rsa.RSAPrivateKey) -> str:
        signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         _b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(sig)

    def service_account_info(self, project_id: str | None = None,
                             client_email: str | None = None) -> dict[str, str]:
        """A throwaway service-account JSON whose ``token_uri`` is this fake's ``/token``.

        ``firebase_admin.credentials.Certificate(info)`` then performs the real JWT-bearer
        refresh against the fake (which checks the assertion's signature).
        """
        project = project_id or self.project_id
        email = client_email or f"firebase-adminsdk-fake@{project}.iam.gserviceaccount.com"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self._lock:
            self._sa_public_keys[email] = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
        return {"type": "service_account", "project_id": project,
                "private_key_id": secrets.token_hex(20), "private_key": pem,
                "client_email": email, "client_id": str(secrets.randbelow(10**20)),
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": self.token_uri}

    @staticmethod
    def _new_user(uid: str, phone_number: str | None) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        return {"localId": uid, "phoneNumber": phone_number, "disabled": False,
                "validSince": None, "createdAt": now_ms, "lastLoginAt": now_ms,
                "displayName": None, "customAttributes": None}

    def add_user(self, uid: str, phone_number: str | None = None, *, disabled: bool = False,
                 valid_since: Any = None, project_id: str | None = None) -> None:
        user = self._new_user(uid, phone_number)
        user["disabled"] = disabled
        user["validSince"] = _epoch(valid_since) if valid_since is not None else None
        with self._lock:
            self._users[(project_id or self.project_id, uid)] = user

    def disable_user(self, uid: str, disabled: bool = True, *,
                     project_id: str | None = None) -> None:
        with self._lock:
            self._users[(project_id or self.project_id, uid)]["disabled"] = disabled

    def revoke_tokens(self, uid: str, at: Any = None, *, project_id: str | None = None) -> None:
        """Set ``validSince`` (default now): tokens issued before it are revoked."""
        with self._lock:
            self._users[(project_id or self.project_id, uid)]["validSince"] = _epoch(at)

    def get_user(self, uid: str, *, project_id: str | None = None) -> dict[str, Any] | None:
        with self._lock:
            user = self._users.get((project_id or self.project_id, uid))
            return dict(user) if user else None

    # ------------------------------------------------------------------ HTTP dispatch
    def _handle(self, method: str, raw_path: str, headers: Any, body: bytes):
        path = urlsplit(raw_path).path
        if method == "POST":
            m = _SEND_RE.match(path)
            if m:
                return self._fcm_send(m.group(1), headers, body)
            m = _ACCOUNTS_RE.match(path)
            if m:
                return self._identitytoolkit(m.group(1), m.group(2) or "create", headers, body)
            if path == "/token":
                return self._oauth_token(body)
        if method == "GET" and path == SECURETOKEN_CERT_PATH:
            with self._lock:
                self._counts["cert_requests"] += 1
            return 200, self.certificates(), {
                "Cache-Control": f"public, max-age={self.cert_max_age}"}
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        return 404, _google_error(404, "NOT_FOUND", f"fake has no route {method} {path}"), {}

    def _check_bearer(self, headers: Any):
        if not self.require_auth:
            return None
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        if not token or (self.strict_tokens and token not in self._access_tokens):
            return 401, _google_error(
                401, "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential."), {}
        return None

    def _fcm_send(self, project: str, headers: Any, body: bytes):
        with self._lock:
            self._counts["fcm_requests"] += 1
            denied = self._check_bearer(headers)
        if denied:
            return self._count_error("UNAUTHENTICATED", denied)
        try:
            req = json.loads(body or b"null")
        except ValueError as exc:
            return self._count_error("INVALID_JSON", (400, _google_error(
                400, "INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}"), {}))
        problems = validate_send_request(req)
        if problems:
            return self._count_error("INVALID_ARGUMENT", (400, _fcm_error(
                400, "INVALID_ARGUMENT", "INVALID_ARGUMENT",
                "Request contains an invalid argument.", problems), {}))
        msg = req["message"]
        target_type = next(k for k in _TARGET_KEYS if k in msg)
        target = msg[target_type]
        validate_only = bool(req.get("validate_only") or req.get("validateOnly"))
        with self._lock:
            attempt = self._attempts[target] = self._attempts.get(target, 0) + 1
            mode = self._take_mode()
        if mode:
            return self._mode_error(mode)
        if target_type in ("token", "fid"):
            err = self._prefix_behaviour(target_type, target, attempt)
            if err:
                return err
        android = msg.get("android") or {}
        record = {
            "project": project,
            "target_type": target_type,
            "target": target,
            "validate_only": validate_only,
            "attempt": attempt,
            "android_tag": (android.get("notification") or {}).get("tag"),
            "collapse_key": android.get("collapse_key"),
            "priority": android.get("priority"),
            "channel_id": (android.get("notification") or {}).get("channel_id"),
            "message": msg,
            "headers": {k.lower(): v for k, v in headers.items()
                        if k.lower() not in ("content-length", "host", "connection")},
            "received_at": time.time(),
        }
        with self._lock:
            record["seq"] = next(self._ids)
            if validate_only:
                record["name"] = f"projects/{project}/messages/fake_message_id"
                self._validated.append(record)
                self._validated_total += 1
            else:
                record["name"] = (f"projects/{project}/messages/"
                                  f"0:{record['seq']}%fake{secrets.token_hex(4)}")
                self._messages.append(record)
                self._accepted_total += 1
        return 200, {"name": record["name"]}, {}

    def _prefix_behaviour(self, target_type: str, target: str, attempt: int):
        field = f"message.{target_type}"
        if target.startswith("unregistered-"):
            return self._count_error("UNREGISTERED", (404, _fcm_error(
                404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."), {}))
        if target.startswith("invalid-"):
            desc = "The registration token is not a valid FCM registration token"
            return self._count_error("INVALID_ARGUMENT", (400, _fcm_error(
                400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", desc, [(field, desc)]), {}))
        if target.startswith("senderid-"):
            return self._count_error("SENDER_ID_MISMATCH", (403, _fcm_error(
                403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"), {}))
        if target.startswith("quota-"):
            return self._mode_error("quota")
        m = _FLAKY_RE.match(target)
        if (m and attempt <= int(m.group(1))) or target.startswith("down-"):
            return self._mode_error("unavailable")
        if target.startswith("internal-"):
            return self._mode_error("internal")
        m = _SLOW_MS_RE.match(target)
        if m:
            time.sleep(int(m.group(1)) / 1000)
        elif target.startswith("slow-"):
            time.sleep(self.slow_seconds)
        return None

    def _mode_error(self, mode: str):
        if mode == "quota":
            headers = {}
            if self.quota_retry_after is not None:
                headers["Retry-After"] = str(int(self.quota_retry_after))
            return self._count_error("QUOTA_EXCEEDED", (429, _fcm_error(
                429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED",
                "Quota exceeded for quota metric 'Messages sent' (fake)."), headers))
        if mode == "unavailable":
            headers = {}
            if self.unavailable_retry_after is not None:
                headers["Retry-After"] = str(int(self.unavailable_retry_after))
            return self._count_error("UNAVAILABLE", (503, _fcm_error(
                503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
                headers))
        return self._count_error("INTERNAL", (500, _fcm_error(
            500, "INTERNAL", "INTERNAL", "Internal error encountered."), {}))

    def _count_error(self, code: str, response):
        with self._lock:
            self._errors[code] = self._errors.get(code, 0) + 1
        return response

    def _oauth_token(self, body: bytes):
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        with self._lock:
            self._counts["token_requests"] += 1
        claims: dict[str, Any] = {}
        if grant == JWT_BEARER_GRANT:
            try:
                claims = self._check_assertion(form.get("assertion", ""))
            except ValueError as exc:
                return 400, {"error": "invalid_grant", "error_description": str(exc)}, {}
        elif grant not in ("refresh_token", "client_credentials"):
            return 400, {"error": "unsupported_grant_type",
                         "error_description": f"unsupported grant_type {grant!r}"}, {}
        token = f"ya29.fake-{secrets.token_urlsafe(16)}"
        with self._lock:
            self._access_tokens.append(token)
            self._token_grants.append(claims)
        return 200, {"access_token": token, "expires_in": self.access_token_lifetime,
                     "token_type": "Bearer"}, {"Cache-Control": "no-store"}

    def _check_assertion(self, assertion: str) -> dict[str, Any]:
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Invalid JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise ValueError("Invalid JWT: alg must be RS256")
        # google-auth always puts Google's token endpoint in ``aud``, whatever token_uri says.
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            raise ValueError(f"Invalid JWT: aud {claims.get('aud')!r}")
        now = time.time()
        if not (claims.get("iat", 0) - 300 <= now <= claims.get("exp", 0) + 300):
            raise ValueError("Invalid JWT: Token must be a short-lived token and in a "
                             "reasonable timeframe")
        with self._lock:
            public_key = self._sa_public_keys.get(claims.get("iss"))
        if public_key is not None:  # a key we minted: check the signature for real
            try:
                public_key.verify(_b64url_decode(sig_b64), f"{head_b64}.{claims_b64}".encode(),
                                  padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                raise ValueError("Invalid JWT Signature.") from None
        return claims

    # -------------------------------------------------------------- Identity Toolkit
    def _user_json(self, user: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"localId": user["localId"], "disabled": user["disabled"],
                               "createdAt": str(user["createdAt"]),
                               "lastLoginAt": str(user["lastLoginAt"]), "providerUserInfo": []}
        if user.get("phoneNumber"):
            out["phoneNumber"] = user["phoneNumber"]
            out["providerUserInfo"].append({"providerId": "phone", "rawId": user["phoneNumber"],
                                            "phoneNumber": user["phoneNumber"]})
        if user.get("validSince") is not None:
            out["validSince"] = str(user["validSince"])
        if user.get("displayName"):
            out["displayName"] = user["displayName"]
        if user.get("customAttributes"):
            out["customAttributes"] = user["customAttributes"]
        return out

    def _identitytoolkit(self, project: str, op: str, headers: Any, body: bytes):
        with self._lock:
            self._counts["identitytoolkit_requests"] += 1
            denied = self._check_bearer(headers)
        if denied:
            return denied
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return 400, _google_error(400, "INVALID_ARGUMENT", "INVALID_JSON"), {}

        def user_error(message: str):
            return 400, _google_error(400, "INVALID_ARGUMENT", message), {}

        with self._lock:
            users = {uid: u for (p, uid), u in self._users.items() if p == project}
            if op == "lookup":
                found = []
                for uid in req.get("localId") or []:
                    if uid in users:
                        found.append(users[uid])
                for phone in req.get("phoneNumber") or []:
                    found += [u for u in users.values() if u.get("phoneNumber") == phone]
                body_out: dict[str, Any] = {"kind": "identitytoolkit#GetAccountInfoResponse"}
                if found:
                    body_out["users"] = [self._user_json(u) for u in found]
                return 200, body_out, {}
            if op == "create":
                uid = req.get("localId") or secrets.token_urlsafe(21)[:28]
                if uid in users:
                    return user_error("DUPLICATE_LOCAL_ID")
                phone = req.get("phoneNumber")
                if phone and any(u.get("phoneNumber") == phone for u in users.values()):
                    return user_error("PHONE_NUMBER_EXISTS")
                user = self._new_user(uid, phone)
                user["disabled"] = bool(req.get("disabled", False))
                user["displayName"] = req.get("displayName")
                self._users[(project, uid)] = user
                return 200, {"kind": "identitytoolkit#SignupNewUserResponse", "localId": uid}, {}
            uid = req.get("localId")
            if uid not in users:
                return user_error("USER_NOT_FOUND")
            if op == "delete":
                del self._users[(project, uid)]
                return 200, {"kind": "identitytoolkit#DeleteAccountResponse"}, {}
            user = users[uid]  # op == "update"
            if "disableUser" in req:
                user["disabled"] = bool(req["disableUser"])
            if "validSince" in req:
                user["validSince"] = int(req["validSince"])
            if "phoneNumber" in req:
                user["phoneNumber"] = req["phoneNumber"]
            if "displayName" in req:
                user["displayName"] = req["displayName"]
            if "customAttributes" in req:
                user["customAttributes"] = req["customAttributes"]
            if "phone" in (req.get("deleteProvider") or []):
                user["phoneNumber"] = None
            if "DISPLAY_NAME" in (req.get("deleteAttribute") or []):
                user["displayName"] = None
            return 200, {"kind": "identitytoolkit#SetAccountInfoResponse", "localId": uid}, {}

    # -------------------------------------------------------------- control endpoints
    def _control(self, method: str, path: str, body: bytes):
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": "invalid JSON"}, {}
        if method == "GET" and path == "/_fake/health":
            return 200, {"ok": True}, {}
        if method == "GET" and path == "/_fake/messages":
            return 200, {"count": self.message_count, "validated_count": self.validated_count,
                         "messages": self.messages(include_validate_only=True)}, {}
        if method == "GET" and path == "/_fake/stats":
            return 200, self.stats(), {}
        if method == "POST" and path == "/_fake/reset":
            self.reset(users=bool(req.get("users")))
            return 200, {"ok": True}, {}
        if method == "POST" and path == "/_fake/mode":
            try:
                self.set_mode(req.get("mode"), seconds=req.get("seconds"),
                              requests=req.get("requests"))
            except ValueError as exc:
                return 400, {"error": str(exc)}, {}
            return 200, {"ok": True, "mode": req.get("mode")}, {}
        if method == "POST" and path == "/_fake/users":
            self.add_user(req["uid"], req.get("phone_number"), disabled=bool(req.get("disabled")),
                          valid_since=req.get("valid_since"), project_id=req.get("project_id"))
            return 200, {"ok": True}, {}
        if method == "POST" and path == "/_fake/id-token":
            token = self.make_id_token(req["uid"], req.get("phone_number"), req.get("project_id"),
                                       expires_in=int(req.get("expires_in", 3600)))
            return 200, {"idToken": token}, {}
        return 404, {"error": f"no control route {method} {path}"}, {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8931, help="0 picks a free port")
    parser.add_argument("--project", default=DEFAULT_PROJECT_ID)
    parser.add_argument("--quota-retry-after", type=float, default=None,
                        help="send Retry-After on 429 (the SDK then retries 4x sleeping that long)")
    parser.add_argument("--unavailable-retry-after", type=float, default=None)
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    parser.add_argument("--strict-tokens", action="store_true",
                        help="accept only bearer tokens issued by this fake's /token")
    parser.add_argument("--no-auth", action="store_true", help="do not require a bearer token")
    parser.add_argument("--max-records", type=int, default=100_000,
                        help="recorded messages kept in memory (counts stay exact)")
    parser.add_argument("--write-service-account", metavar="PATH",
                        help="write a throwaway service-account JSON whose token_uri is this fake")
    args = parser.parse_args(argv)
    fake = FakeGoogle(args.host, args.port, project_id=args.project,
                      require_auth=not args.no_auth, strict_tokens=args.strict_tokens,
                      quota_retry_after=args.quota_retry_after,
                      unavailable_retry_after=args.unavailable_retry_after,
                      slow_seconds=args.slow_seconds, max_records=args.max_records)
    url = fake.start()
    if args.write_service_account:
        with open(args.write_service_account, "w", encoding="utf-8") as fh:
            json.dump(fake.service_account_info(), fh, indent=2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"FAKE_GOOGLE_READY {url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
