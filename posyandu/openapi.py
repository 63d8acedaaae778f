"""The error half of the OpenAPI document, for every operation as a class (issue 9 §1).

Every error leaves as ``application/problem+json`` (:mod:`posyandu.errors`). The document says
so: a ``Problem`` schema, the response components of each status in that content type, and per
operation the statuses it can really answer, derived from what the operation is:

=========================  ==========================================================
every operation            503 (database or sign-in service unavailable)
signed-in (not public)     401 (no/invalid/expired token), 403 (role), 404 (out of scope)
path parameters            404
a request body             400 (malformed JSON), 413 (too large), 422 (invalid fields)
query parameters           422
writes by a signed-in user 409 (stale ``base_version``, duplicates, clashes)
rate-limited               429, declared on the route (``@blp.alt_response(429, ...)``)
=========================  ==========================================================

Public operations (sign-in) declare ``@blp.doc(security=[])``. A status a route documents itself
(with its own description) is kept; only its content is set to the problem schema.
"""
from __future__ import annotations

import http

import marshmallow as ma
from apispec import BasePlugin
from marshmallow import fields

from .media_types import PROBLEM_MIME

ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429, 503)
WRITE_METHODS = {"post", "put", "patch", "delete"}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of this API is answered (extension members
    allowed, as the RFC says)."""

    class Meta:
        unknown = ma.INCLUDE

    type = fields.String(required=True, metadata={
        "description": "urn:posyandugo:problem:<slug> (one title per type), or about:blank",
        "example": "urn:posyandugo:problem:validation-error"})
    title = fields.String(required=True, metadata={"description": "Short summary, in the caller's language."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code.", "example": 422})
    detail = fields.String(metadata={"description": "What happened and what to do, in the caller's language."})
    instance = fields.String(metadata={"description": "The request path.", "example": "/api/v1/children"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "For invalid input: messages per field (dotted paths for nested fields, "
                       "e.g. records.3.weight).",
        "example": {"name": ["Required."]}})
    server = fields.Dict(metadata={
        "description": "For a conflict (409): the record as it is on the server, to resolve against."})
    dose_code = fields.String(metadata={"description": "For a dose already recorded (409): its dose code."})
    exception_id = fields.Integer(metadata={
        "description": "For a calendar exception that clashes (409): the existing exception's id."})


def status_name(code: int) -> str:
    return http.HTTPStatus(code).name


def register_responses(api) -> None:
    """One response component per HTTP status, problem+json for the errors (replaces
    flask-smorest's ``application/json`` ``Error`` components)."""
    spec = api.spec
    for status in http.HTTPStatus:
        response: dict = {"description": status.phrase}
        if status >= 400:
            response["content"] = {PROBLEM_MIME: {"schema": "Problem"}}
        spec.components.response(status.name, response, lazy=True)


class ProblemResponsesPlugin(BasePlugin):
    """apispec plugin: completes each operation's error responses (see the module docstring)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or method not in {"get", "post", "put", "patch", "delete", "head"}:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("default", None)
            for code in sorted(statuses_of(path or "", method, operation)):
                if code not in responses and str(code) not in responses:
                    responses[str(code)] = status_name(code)
            for code, response in list(responses.items()):
                if str(code).isdigit() and int(code) >= 400 and isinstance(response, dict) \
                        and "content" not in response:
                    response["content"] = {PROBLEM_MIME: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            # flask-smorest's own 422 references keep their content type: problem+json (components)


def statuses_of(path: str, method: str, operation: dict) -> set[int]:
    public = operation.get("security") == []
    parameters = operation.get("parameters") or []
    has_query = any(isinstance(p, dict) and p.get("in") == "query" for p in parameters)
    statuses = {503}
    if not public:
        statuses |= {401, 403, 404}
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if has_query:
        statuses.add(422)
    if method in WRITE_METHODS and not public:
        statuses.add(409)
    return statuses


def install(api) -> None:
    """Call once, right after ``Api(app)``, before blueprints are registered."""
    api.spec.components.schema("Problem", schema=ProblemSchema)
    api.spec.plugins.append(ProblemResponsesPlugin())
