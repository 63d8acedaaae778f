"""Production FCM sender: ``Push`` in, ``PushResult`` out, through the real firebase-admin SDK.

No Flask, no SQLAlchemy: the outbox worker claims rows, turns them into :class:`Push`, calls
:meth:`FcmSender.send` and writes each :class:`PushResult` back::

    sent           -> row sent, keep ``message_name``
    token_invalid  -> retire the device token, row failed (no retry)
    retry          -> row retry with exponential backoff + jitter, dead after N attempts
    quota          -> FCM quota exceeded: back off the *whole queue* (honour ``retry_after``)
    failed         -> permanent failure of this push (bad payload, APNs auth, ...)

Things the SDK does behind our back (firebase-admin 7.7.0):

* ``send_each`` makes one HTTP request per message on a thread per message and a
  100-connection pool, so we chunk to at most 100.
* urllib3 retries 500/503 four times with 0+1+2+4 s of backoff (~7 s) and retries 429/503 that
  carry ``Retry-After`` four times sleeping that long. A ``retry`` result has therefore already
  been retried by the SDK; keep ``http_timeout`` small. FCM v1 has no idempotency key, so an
  SDK-level retry (or a crash before we record ``sent``) can duplicate a push: the Android
  ``tag``/``collapse_key`` derived from the reminder id make the duplicate replace the first
  notification instead of showing twice.
"""
from __future__ import annotations

import email.utils
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any, Mapping, Sequence

import firebase_admin
from firebase_admin import credentials as fb_credentials
from firebase_admin import exceptions, messaging

log = logging.getLogger(__name__)

__all__ = ["FcmSender", "Push", "PushResult", "PushStatus", "classify_error",
           "credentials_from_env", "MAX_BATCH"]

#: send_each chunk size: matches the SDK's 100-connection pool (beyond it urllib3 opens and
#: drops extra connections, firebase-admin-python #712).
MAX_BATCH = 100
DEFAULT_CHANNEL_ID = "reminders"
FCM_MAX_PAYLOAD_BYTES = 4096
_RESERVED_DATA_KEYS = {"from", "notification", "message_type"}
_BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_TARGET_FIELDS = {"message.token", "message.fid"}


class PushStatus(str, Enum):
    SENT = "sent"
    TOKEN_INVALID = "token_invalid"
    RETRY = "retry"
    QUOTA = "quota"
    FAILED = "failed"


@dataclass(frozen=True)
class Push:
    """One notification to one device (exactly one of ``token`` / ``fid``).

    ``reminder_id`` gives the Android ``tag`` and ``collapse_key`` (``rem-{id}``) and is added to
    ``data`` as ``reminder_id``. ``data`` values must be strings. ``channel_id`` must exist in
    the Android app. ``ttl`` bounds how long FCM keeps the message for an offline phone.
    """
    reminder_id: str | int
    title: str
    body: str
    token: str | None = None
    fid: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    channel_id: str = DEFAULT_CHANNEL_ID
    ttl: timedelta | None = None

    @property
    def tag(self) -> str:
        return f"rem-{self.reminder_id}"

    @property
    def collapse_key(self) -> str:
        return f"rem-{self.reminder_id}"

    @property
    def target(self) -> str | None:
        return self.token if self.token is not None else self.fid

    def payload_data(self) -> dict[str, str]:
        data = dict(self.data)
        data.setdefault("reminder_id", str(self.reminder_id))
        return data

    def problems(self) -> list[str]:
        """What FCM (or the SDK's encoder) would reject; empty when the push looks sendable."""
        out = []
        if (self.token is None) == (self.fid is None):
            out.append("exactly one of token or fid is required")
        elif not isinstance(self.target, str) or not self.target:
            out.append("token/fid must be a non-empty string")
        if self.reminder_id is None or str(self.reminder_id) == "":
            out.append("reminder_id is required")
        if not isinstance(self.title, str) or not isinstance(self.body, str):
            out.append("title and body must be strings")
        if not isinstance(self.channel_id, str) or not self.channel_id:
            out.append("channel_id must be a non-empty string")
        if self.ttl is not None and (not isinstance(self.ttl, timedelta)
                                     or self.ttl < timedelta(0)):
            out.append("ttl must be a non-negative timedelta")
        if not isinstance(self.data, Mapping):
            out.append("data must be a mapping of str to str")
            return out
        for key, value in self.data.items():
            if not isinstance(key, str) or not isinstance(value, str):
                out.append(f"data[{key!r}] must map str to str, got {type(value).__name__}")
            elif key in _RESERVED_DATA_KEYS or key.startswith(("google.", "gcm.")):
                out.append(f"data key {key!r} is reserved by FCM")
        if not out:
            size = len(json.dumps({"data": self.payload_data(), "title": self.title,
                                   "body": self.body}, separators=(",", ":")).encode())
            if size > FCM_MAX_PAYLOAD_BYTES:
                out.append(f"payload too big for FCM ({size} > {FCM_MAX_PAYLOAD_BYTES} bytes)")
        return out


@dataclass(frozen=True)
class PushResult:
    push: Push
    status: PushStatus
    message_name: str | None = None  #: FCM ``projects/{p}/messages/{id}`` when sent
    error_code: str | None = None  #: e.g. UNREGISTERED, QUOTA_EXCEEDED, UNAVAILABLE, INVALID_PUSH
    error: str | None = None
    retry_after: float | None = None  #: seconds, from FCM's Retry-After header if any
    attempted: bool = True  #: False when we did not call FCM for this push

    @property
    def ok(self) -> bool:
        return self.status is PushStatus.SENT

    @property
    def retire_token(self) -> bool:
        return self.status is PushStatus.TOKEN_INVALID


def credentials_from_env(environ: Mapping[str, str] | None = None) -> fb_credentials.Base:
    """``FIREBASE_CREDENTIALS_JSON`` (service-account JSON text) wins, then the file named by
    ``GOOGLE_APPLICATION_CREDENTIALS``, then Application Default Credentials (metadata server
    on Google Cloud)."""
    env = os.environ if environ is None else environ
    raw = env.get("FIREBASE_CREDENTIALS_JSON")
    if raw:
        try:
            info = json.loads(raw)
        except ValueError:
            raise ValueError("FIREBASE_CREDENTIALS_JSON is not valid JSON") from None
        return fb_credentials.Certificate(info)
    path = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path:
        with open(path, encoding="utf-8") as fh:
            kind = json.load(fh).get("type")
        if kind == "service_account":
            return fb_credentials.Certificate(path)
        return fb_credentials.ApplicationDefault()  # authorized_user, external_account, ...
    return fb_credentials.ApplicationDefault()


def _error_body(exc: BaseException) -> dict[str, Any]:
    resp = getattr(exc, "http_response", None)
    if resp is None:
        return {}
    try:
        body = resp.json()
    except ValueError:
        return {}
    err = body.get("error") if isinstance(body, dict) else None
    return err if isinstance(err, dict) else {}


def _error_code(exc: BaseException) -> str:
    for detail in _error_body(exc).get("details") or []:
        if (isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE
                and detail.get("errorCode")):
            return str(detail["errorCode"])
    return str(getattr(exc, "code", None) or type(exc).__name__)


def _blames_target(exc: BaseException) -> bool:
    """Did FCM reject the INVALID_ARGUMENT because of the token/fid (not our payload)?

    FCM answers a malformed token with a ``google.rpc.BadRequest`` violation on
    ``message.token`` and "The registration token is not a valid FCM registration token".
    Anything ambiguous counts as *not* the token: we never retire tokens on a guess.
    """
    err = _error_body(exc)
    for detail in err.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _BAD_REQUEST_TYPE:
            for violation in detail.get("fieldViolations") or []:
                if isinstance(violation, dict) and violation.get("field") in _TARGET_FIELDS:
                    return True
    return "registration token" in str(err.get("message", "")).lower()


def _retry_after(exc: BaseException) -> float | None:
    resp = getattr(exc, "http_response", None)
    value = resp.headers.get("Retry-After") if resp is not None else None
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def classify_error(exc: BaseException) -> tuple[PushStatus, str]:
    """Map a firebase-admin exception to (status, error code)."""
    code = _error_code(exc)
    if isinstance(exc, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        return PushStatus.TOKEN_INVALID, code
    if isinstance(exc, exceptions.ResourceExhaustedError):  # incl. messaging.QuotaExceededError
        return PushStatus.QUOTA, code
    if isinstance(exc, messaging.ThirdPartyAuthError):  # APNs/web-push credentials: ours to fix
        return PushStatus.FAILED, code
    if isinstance(exc, exceptions.InvalidArgumentError):
        return (PushStatus.TOKEN_INVALID if _blames_target(exc) else PushStatus.FAILED), code
    if isinstance(exc, (exceptions.UnavailableError, exceptions.InternalError,
                        exceptions.UnknownError, exceptions.DeadlineExceededError)):
        return PushStatus.RETRY, code
    if isinstance(exc, (exceptions.UnauthenticatedError, exceptions.PermissionDeniedError)):
        # Our credentials or project setup, not this push: retry (with backoff) until fixed.
        return PushStatus.RETRY, code
    return PushStatus.FAILED, code


def _short(target: str | None) -> str:
    return (target[:12] + "...") if target and len(target) > 12 else str(target)


class FcmSender:
    """Sends :class:`Push` batches through its own ``firebase_admin`` App.

    ``credentials``: a ``firebase_admin.credentials.Base`` or any
    ``google.auth.credentials.Credentials``; default :func:`credentials_from_env`.
    ``endpoint_url``: dev/test only. Redirects this App's FCM traffic to a local fake via
    ``posyandu.devtools.firebase_local`` (imported only then; refused when
    ``POSYANDU_ENV=production``). Without explicit credentials it then uses a static bearer
    token, so real credentials are never sent to a fake.
    ``dry_run``: FCM validates (including the token) but delivers nothing.
    """

    def __init__(self, app_name: str, project_id: str, credentials: Any = None,
                 http_timeout: float = 10, endpoint_url: str | None = None, *,
                 dry_run: bool = False, max_batch: int = MAX_BATCH,
                 stop_on_quota: bool = True) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"max_batch must be between 1 and {MAX_BATCH}")
        if endpoint_url and os.environ.get("POSYANDU_ENV") == "production":
            raise RuntimeError("FcmSender endpoint_url (a local fake) is refused in production")
        if credentials is None:
            if endpoint_url:
                from google.oauth2.credentials import Credentials as StaticToken
                credentials = StaticToken("posyandu-dev-static-token")
            else:
                credentials = credentials_from_env()
        self.project_id = project_id
        self.dry_run = dry_run
        self.max_batch = max_batch
        self.stop_on_quota = stop_on_quota
        self._refresh_lock = threading.Lock()
        self.app = firebase_admin.initialize_app(
            credentials, {"projectId": project_id, "httpTimeout": http_timeout}, name=app_name)
        if endpoint_url:
            try:
                from posyandu.devtools.firebase_local import point_messaging_at  # dev/test only
                point_messaging_at(self.app, endpoint_url)
            except BaseException:
                firebase_admin.delete_app(self.app)
                raise

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        app, self.app = self.app, None
        if app is not None:
            firebase_admin.delete_app(app)

    def __enter__(self) -> "FcmSender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- sending
    def send(self, pushes: Sequence[Push], *, dry_run: bool | None = None) -> list[PushResult]:
        """Send ``pushes`` (any number) in ``send_each`` chunks of at most ``max_batch``.

        Returns one result per push, in order. Never raises for per-push problems. After a
        chunk hit QUOTA_EXCEEDED (and ``stop_on_quota``), the remaining chunks are not sent
        and come back as ``quota`` with ``attempted=False``.
        """
        if self.app is None:
            raise RuntimeError("FcmSender is closed")
        dry = self.dry_run if dry_run is None else dry_run
        results: list[PushResult | None] = [None] * len(pushes)
        sendable: list[int] = []
        for i, push in enumerate(pushes):
            problems = push.problems()
            if problems:
                results[i] = PushResult(push, PushStatus.FAILED, error_code="INVALID_PUSH",
                                        error="; ".join(problems), attempted=False)
            else:
                sendable.append(i)
        quota_hit: PushResult | None = None
        for start in range(0, len(sendable), self.max_batch):
            idx = sendable[start:start + self.max_batch]
            if quota_hit is not None and self.stop_on_quota:
                for i in idx:
                    results[i] = PushResult(
                        pushes[i], PushStatus.QUOTA, error_code=quota_hit.error_code,
                        error="not attempted: FCM quota exceeded earlier in this call",
                        retry_after=quota_hit.retry_after, attempted=False)
                continue
            for i, result in zip(idx, self._send_chunk([pushes[i] for i in idx], dry)):
                results[i] = result
                if result.status is PushStatus.QUOTA and quota_hit is None:
                    quota_hit = result
        final = [r for r in results if r is not None]
        assert len(final) == len(pushes)
        self._log_summary(final, dry)
        return final

    def _send_chunk(self, chunk: list[Push], dry_run: bool) -> list[PushResult]:
        try:
            self._ensure_access_token()
        except Exception as exc:  # google.auth RefreshError / TransportError, ...
            log.error("FCM credentials refresh failed: %s", exc)
            return [PushResult(p, PushStatus.RETRY, error_code="CREDENTIALS_REFRESH_FAILED",
                               error=str(exc)) for p in chunk]
        messages = [self._build_message(p) for p in chunk]
        try:
            batch = messaging.send_each(messages, dry_run=dry_run, app=self.app)
        except exceptions.FirebaseError as exc:
            # UnknownError wrapping something raised inside a worker thread (e.g. a credential
            # refresh failure). Some messages of this chunk may have been delivered.
            status, code = classify_error(exc)
            log.error("FCM send_each failed for a chunk of %d: %s", len(chunk), exc)
            return [PushResult(p, status, error_code=code, error=str(exc)) for p in chunk]
        results = []
        for push, resp in zip(chunk, batch.responses):
            if resp.success:
                results.append(PushResult(push, PushStatus.SENT, message_name=resp.message_id))
                continue
            exc = resp.exception
            status, code = classify_error(exc)
            results.append(PushResult(push, status, error_code=code, error=str(exc),
                                      retry_after=_retry_after(exc)))
        return results

    def _ensure_access_token(self) -> None:
        """Refresh an expired OAuth token once, before fanning out to up to 100 threads.

        google-auth refreshes without a lock, so a cold or expired credential would otherwise be
        refreshed by every concurrent request of the chunk (a burst on the token endpoint).
        """
        google_cred = self.app.credential.get_credential()
        if getattr(google_cred, "valid", True):
            return
        with self._refresh_lock:
            if not google_cred.valid:
                self.app.credential.get_access_token()

    @staticmethod
    def _build_message(push: Push) -> messaging.Message:
        android = messaging.AndroidConfig(
            collapse_key=push.collapse_key, priority="high", ttl=push.ttl,
            notification=messaging.AndroidNotification(tag=push.tag, channel_id=push.channel_id))
        message = messaging.Message(
            data=push.payload_data(),
            notification=messaging.Notification(title=push.title, body=push.body),
            android=android, fid=push.fid)
        if push.token is not None:
            # Registration tokens are deprecated in favour of FIDs since firebase-admin 7.5 but
            # still delivered; set the attribute after construction so each message does not
            # emit a DeprecationWarning from our module.
            message.token = push.token
        return message

    @staticmethod
    def _log_summary(results: list[PushResult], dry_run: bool) -> None:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
            if r.status is PushStatus.FAILED:
                log.warning("push for reminder %s to %s failed permanently: %s %s",
                            r.push.reminder_id, _short(r.push.target), r.error_code, r.error)
        if results:
            log.info("FCM %s: %s", "dry run" if dry_run else "send",
                     " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
