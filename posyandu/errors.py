"""One error module: every error leaves the API as ``application/problem+json`` (RFC 9457).

Body: ``type``, ``title``, ``status``, ``detail``, ``instance`` and, for bad input,
``errors: {field: [messages]}`` with dotted paths for nested fields (``records.3.weight``).
In testing, unexpected exceptions propagate so no test can hide a 500.

Every problem type (``type``, from the slug) has ONE title (:data:`TITLES`). Titles, details and
field messages are written in English here and in the operations, and translated into the
caller's language when the response is built (``posyandu.i18n``, docs/errors-and-languages.md).
"""
from __future__ import annotations

import logging

import marshmallow as ma
from flask import current_app, jsonify, request
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from . import database_outage
from .media_types import PROBLEM_MIME

log = logging.getLogger(__name__)


#: The one title of each problem type (``urn:posyandugo:problem:<slug>``), in English; answered
#: in the caller's language. A slug not listed keeps the title it was raised with.
TITLES = {
    "bad-request": "Bad request",
    "validation-error": "Invalid input",
    "not-found": "Not found",
    "conflict": "Conflict",
    "forbidden": "Forbidden",
    "unauthorized": "Sign-in required",
    "method-not-allowed": "Method not allowed",
    "payload-too-large": "Request too large",
    "unsupported-media-type": "Unsupported media type",
    "too-many-requests": "Too many attempts",
    "internal-error": "Internal error",
    "invalid-token": "Invalid sign-in",
    "wrong-token-type": "Wrong token",
    "token-expired": "Sign-in expired",
    "token-revoked": "Signed out",
    "fresh-token-required": "Fresh sign-in required",
    "invalid-credentials": "Sign-in failed",
    "account-disabled": "Account disabled",
    "invalid-refresh-token": "Invalid refresh token",
    "refresh-token-reused": "Refresh token reused",
    "invalid-id-token": "Firebase sign-in failed",
    "id-token-expired": "Firebase sign-in failed",
    "id-token-revoked": "Firebase sign-in failed",
    "firebase-user-disabled": "Firebase sign-in failed",
    "firebase-user-not-found": "Firebase sign-in failed",
    "phone-number-required": "Firebase sign-in failed",
    "firebase-unavailable": "Sign-in service unavailable",
    "firebase-not-configured": "Parent sign-in not configured",
    "database-unavailable": "Service unavailable",
    "transaction-conflict": "Service unavailable",
    "feed-preparing": "Service unavailable",
    "duplicate-dose": "Dose already recorded",
}


def problem_type(slug: str) -> str:
    return f"urn:posyandugo:problem:{slug}"


class Problem(Exception):
    """A domain error with an HTTP meaning, raised by operations and routes."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: dict | None = None, status: int | None = None,
                 slug: str | None = None, title: str | None = None, extra: dict | None = None):
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.extra = extra or {}


class InvalidInput(Problem):
    status = 422
    slug = "validation-error"
    title = "Invalid input"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"
    title = "Sign-in required"


def flatten_messages(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested message dicts into ``{"a.b.0.c": [msg, ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema" and prefix:
                path = prefix
            for sub_key, sub_value in flatten_messages(value, path).items():
                flat.setdefault(sub_key, []).extend(sub_value)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "_schema"] = list(messages)
        else:
            for item in messages:
                for sub_key, sub_value in flatten_messages(item, prefix).items():
                    flat.setdefault(sub_key, []).extend(sub_value)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def webargs_errors(messages: dict) -> dict[str, list[str]]:
    """webargs nests messages under the location (``json``, ``query``); drop that level."""
    merged: dict[str, list[str]] = {}
    for per_field in (messages or {}).values():
        for key, value in flatten_messages(per_field).items():
            merged.setdefault(key, []).extend(value)
    return merged


def problem_response(status: int, title: str, *, detail: str | None = None, slug: str | None = None,
                     errors: dict | None = None, headers: dict | None = None, extra: dict | None = None):
    from .i18n import current_language, translate, translate_errors
    language = current_language()
    title = TITLES.get(slug, title) if slug else title
    body = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": translate(title, language),
        "status": status,
    }
    if detail:
        body["detail"] = translate(detail, language)
    try:
        body["instance"] = request.path
    except RuntimeError:  # outside a request
        pass
    if errors:
        body["errors"] = translate_errors(errors, language)
    if extra:
        body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIME
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class Api(SmorestApi):
    """flask-smorest's Api with problem+json instead of its own error payload, in the answers
    and in the OpenAPI document (``posyandu/openapi.py``: no ``default`` response, the real
    statuses per operation)."""

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        from .openapi import install, register_responses
        register_responses(self)
        install(self)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = None
        if "errors" in data:
            errors = flatten_messages(data["errors"])
        elif "messages" in data:
            errors = webargs_errors(data["messages"])
        headers = dict(data.get("headers") or {})
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers.setdefault("Allow", ", ".join(error.valid_methods))
        if error.code == 429:
            if error.response is not None and error.response.headers.get("Retry-After"):
                headers["Retry-After"] = error.response.headers["Retry-After"]
        slug = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 409: "conflict", 413: "payload-too-large",
                415: "unsupported-media-type", 422: "validation-error",
                429: "too-many-requests"}.get(error.code)
        detail = data.get("message") or error.description
        if error.code == 429:
            detail = "Too many attempts. Please wait before trying again."
        if error.code == 422 and errors:
            detail = "Some fields are invalid: " + ", ".join(sorted(errors))
        return problem_response(error.code or 500, error.name, detail=detail, slug=slug, errors=errors,
                                headers=headers)


def unavailable_response():
    """503 problem+json with Retry-After, in the caller's language (chosen without the database:
    the access token's ``lang`` claim or Accept-Language; posyandu/i18n)."""
    return problem_response(
        503, "Service unavailable", slug="database-unavailable",
        detail="The database is temporarily unavailable. Please try again in a few seconds.",
        headers={"Retry-After": str(database_outage.RETRY_AFTER_SECONDS)})


def outage_response(error: BaseException):
    """The 503 for a database outage (logged, rate-limited, counted), else ``None``."""
    return unavailable_response() if database_outage.refuse(error) else None


def register_error_handlers(app) -> None:
    @app.errorhandler(Problem)
    def _problem(error: Problem):
        return problem_response(error.status, error.title, detail=error.detail, slug=error.slug,
                                errors=error.errors, extra=error.extra)

    @app.errorhandler(ma.ValidationError)
    def _validation(error: ma.ValidationError):
        errors = flatten_messages(error.messages)
        return problem_response(422, TITLES["validation-error"], slug="validation-error", errors=errors,
                                detail="Some fields are invalid: " + ", ".join(sorted(errors)))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            original = getattr(error, "original_exception", None)
            if original is None or (outage := outage_response(original)) is None:
                return app.extensions["posyandu.api"].handle_http_exception(error)
            return outage
        if (outage := outage_response(error)) is not None:
            return outage  # 503 + Retry-After, one log line per interval (no traceback)
        if current_app.testing:
            raise error
        log.exception("unhandled error", extra={"event": "unhandled_error"})
        return problem_response(500, TITLES["internal-error"], slug="internal-error",
                                detail="An unexpected error occurred. It has been logged.")
