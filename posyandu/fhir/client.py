"""A small SATUSEHAT REST client on ``requests``: OAuth2 client credentials, retries, backoff.

- Token: ``POST {AUTH_URL}/accesstoken?grant_type=client_credentials`` with ``client_id`` and
  ``client_secret`` form-encoded (SATUSEHAT's flow); the bearer token is reused until shortly
  before ``expires_in`` (SATUSEHAT sends it as a string) and fetched again after a 401.
- Retries: 429 (waiting ``Retry-After`` when given), 5xx, timeouts and dropped connections are
  retried with exponential backoff and jitter up to ``max_attempts``; then
  :class:`ServerUnavailable`. A create is not idempotent, so before retrying one the caller's
  ``before_retry`` looks the resource up by its identifier (the server may have stored it
  although we never saw the answer).
- Other 4xx answers are :class:`Refused`, with the OperationOutcome's issue codes and element
  paths only (its diagnostics may quote the personal data we sent, so they are not kept).
Bodies are never logged.
"""
from __future__ import annotations

import email.utils
import logging
import random
import time
from typing import Any, Callable

import requests

from .settings import SatusehatSettings

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
#: Refresh the token this long before the server says it expires.
TOKEN_MARGIN_SECONDS = 60


#: ``before_retry`` could not find out (the lookup failed too).
UNKNOWN = object()


class SubmitError(RuntimeError):
    pass


class ServerUnavailable(SubmitError):
    """Retries exhausted (5xx, 429, timeouts, dropped connections): stop and run again later."""


class Refused(SubmitError):
    """The server rejected this resource (4xx other than 401/429)."""

    def __init__(self, status: int, summary: str):
        super().__init__(f"HTTP {status}: {summary}")
        self.status = status
        self.summary = summary


class AuthenticationFailed(SubmitError):
    """The token endpoint refused our client credentials."""


def outcome_summary(response: requests.Response) -> str:
    """``invalid@Patient.identifier[0]; required@...`` from an OperationOutcome (no diagnostics)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "error"
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return response.reason or "error"
    parts = []
    for issue in body.get("issue") or []:
        where = ",".join(issue.get("expression") or issue.get("location") or [])
        parts.append(f"{issue.get('code', 'error')}@{where}" if where else str(issue.get("code", "error")))
    return "; ".join(parts)[:250] or "error"


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class SatusehatClient:
    def __init__(self, settings: SatusehatSettings, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.http = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self.token_fetches = 0
        self.retries = 0

    def close(self) -> None:
        self.http.close()

    # --- OAuth2 client credentials ------------------------------------------------------------
    def _fetch_token(self) -> str:
        url = f"{self.settings.auth_url}/accesstoken"
        for attempt in range(self.settings.max_attempts):
            try:
                response = self.http.post(url, params={"grant_type": "client_credentials"},
                                          data={"client_id": self.settings.client_id,
                                                "client_secret": self.settings.client_secret},
                                          timeout=self.settings.timeout_seconds)
            except (requests.ConnectionError, requests.Timeout):
                response = None
            if response is not None and response.status_code == 200:
                body = response.json()
                self._token = body["access_token"]
                expires_in = float(body.get("expires_in") or 3600)
                self._token_expires_at = self.clock() + max(0.0, expires_in - TOKEN_MARGIN_SECONDS)
                self.token_fetches += 1
                return self._token
            if response is not None and response.status_code in (400, 401, 403):
                raise AuthenticationFailed(f"token endpoint answered {response.status_code}")
            self._backoff(attempt, response)
        raise ServerUnavailable("token endpoint unavailable")

    def token(self) -> str:
        if self._token is None or self.clock() >= self._token_expires_at:
            return self._fetch_token()
        return self._token

    # --- requests with retries ----------------------------------------------------------------
    def _backoff(self, attempt: int, response: requests.Response | None) -> None:
        if attempt + 1 >= self.settings.max_attempts:
            return
        delay = None
        if response is not None and response.status_code in (429, 503):
            delay = _retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            delay = self.settings.retry_base_seconds * (2 ** attempt) * (0.5 + random.random() / 2)
        self.retries += 1
        self.sleep(min(delay, self.settings.retry_cap_seconds))

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict | None = None, before_retry: Callable[[], Any] | None = None,
                max_attempts: int | None = None):
        """Send with token refresh and retries. Returns the final ``requests.Response`` (2xx or a
        4xx to handle), or what ``before_retry`` found (anything not None) before a retry.

        ``before_retry`` runs once per retry without retries of its own; when it cannot tell
        (``UNKNOWN``: the server failed it too) the request is not resent and the attempt counts
        as failed, so a create is never repeated blindly."""
        url = f"{self.settings.base_url}/{path.lstrip('/')}"
        max_attempts = max_attempts or self.settings.max_attempts
        refreshed = False
        attempt = 0
        response = None
        while True:
            if attempt > 0 and before_retry is not None:
                found = before_retry()
                if found is UNKNOWN:
                    attempt += 1
                    if attempt >= max_attempts:
                        raise ServerUnavailable(f"{method} {path.split('/')[0]}: no answer after {attempt} attempts")
                    self._backoff(attempt - 1, None)
                    continue
                if found is not None:
                    return found
            send_headers = {"Authorization": f"Bearer {self.token()}", "Accept": FHIR_JSON}
            if json is not None:
                send_headers["Content-Type"] = FHIR_JSON
            send_headers.update(headers or {})
            try:
                response = self.http.request(method, url, json=json, params=params, headers=send_headers,
                                             timeout=self.settings.timeout_seconds)
            except (requests.ConnectionError, requests.Timeout) as exc:
                log.warning("satusehat request failed", extra={"event": "satusehat_retry", "method": method,
                                                                "error": type(exc).__name__})
                response = None
            if response is not None:
                if response.status_code == 401 and not refreshed:
                    refreshed = True  # expired or revoked token: fetch a new one, once per request
                    self._token = None
                    continue
                if response.status_code < 500 and response.status_code != 429:
                    return response
                log.warning("satusehat answered %s", response.status_code,
                            extra={"event": "satusehat_retry", "method": method, "status": response.status_code})
            attempt += 1
            if attempt >= max_attempts:
                raise ServerUnavailable(f"{method} {path.split('/')[0]}: "
                                        f"{response.status_code if response is not None else 'no answer'} "
                                        f"after {attempt} attempts")
            self._backoff(attempt - 1, response)

    # --- FHIR interactions --------------------------------------------------------------------
    def search_by_identifier(self, resource_type: str, system: str, value: str, *,
                             max_attempts: int | None = None) -> str | None:
        response = self.request("GET", resource_type, params={"identifier": f"{system}|{value}"},
                                max_attempts=max_attempts)
        if response.status_code != 200:
            raise Refused(response.status_code, outcome_summary(response))
        entries = (response.json() or {}).get("entry") or []
        for entry in entries:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == resource_type and resource.get("id"):
                return resource["id"]
        return None

    def create(self, resource_type: str, body: dict, identifier: dict | None) -> str:
        """POST; returns the server id. With an identifier, the create is conditional
        (``If-None-Exist``) and a retry first searches for it, so it is never stored twice."""
        headers = {}
        before_retry = None
        if identifier is not None:
            query = f"identifier={identifier['system']}|{identifier['value']}"
            headers["If-None-Exist"] = query

            def before_retry():
                try:
                    return self.search_by_identifier(resource_type, identifier["system"], identifier["value"],
                                                     max_attempts=1)
                except ServerUnavailable:
                    return UNKNOWN

        response = self.request("POST", resource_type, json=body, headers=headers, before_retry=before_retry)
        if isinstance(response, str):
            return response  # found by the search before a retry
        if response.status_code not in (200, 201):
            raise Refused(response.status_code, outcome_summary(response))
        server_id = None
        try:
            server_id = (response.json() or {}).get("id")
        except ValueError:
            pass
        if not server_id:
            location = response.headers.get("Location") or response.headers.get("Content-Location") or ""
            parts = location.rstrip("/").split("/")
            position = parts.index(resource_type) + 1 if resource_type in parts else len(parts)
            server_id = parts[position] if position < len(parts) else None
        if not server_id:
            raise Refused(response.status_code, "the answer carries no resource id")
        return server_id

    def update(self, resource_type: str, server_id: str, body: dict) -> None:
        response = self.request("PUT", f"{resource_type}/{server_id}", json={**body, "id": server_id})
        if response.status_code not in (200, 201):
            raise Refused(response.status_code, outcome_summary(response))
