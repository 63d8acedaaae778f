"""A deterministic sweep of the input classes that reached PostgreSQL as 500s (issue 9 §1): for
every operation of the served OpenAPI document and every path, query and top-level body field,
send the value of its type that databases and Python's dates choke on -- text with NUL, an
integer one past PostgreSQL's ``integer``, year 0 -- and require a documented 4xx (never a
5xx) in problem+json. Complements the random fuzzing of test_openapi_fuzz.py, which only tries
such values when it happens to draw them."""
from __future__ import annotations

import re
import uuid

import pytest

from tests.factories import headers
from tests.fuzz.test_openapi_fuzz import ROLES, _served_document

DOCUMENT = _served_document()
BIG = 2 ** 31


def _operations():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation, item.get("parameters", [])


def _schema(ref_or_schema: dict) -> dict:
    if "$ref" in ref_or_schema:
        return DOCUMENT["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def _bad_values(schema: dict) -> list:
    kind = schema.get("type")
    if kind == "integer":
        return [BIG, -BIG - 1]
    if kind == "string":
        if schema.get("format") == "date":
            return ["0000-01-01"]
        if schema.get("format") == "date-time":
            return ["0000-01-01T00:00:00+00:00"]
        if schema.get("format") == "uuid":
            return ["0000\u0000"]
        if "enum" in schema:
            return [schema["enum"][0] + "\u0000"]
        return ["a\u0000b", "0000-01"]
    return []


def _good_path(path: str, world) -> dict:
    ids = {"child_id": world.child_a1.id, "posyandu_id": world.posyandu_a1.id, "user_id": world.kader_a1.id,
           "puskesmas_id": world.puskesmas_a.id, "kabupaten_code": "35.25", "code": "35.25", "fmt": "csv",
           "indicator": "weight-for-age", "kind": "monthly-growth"}
    return {name: ids.get(name, uuid.uuid4()) for name in re.findall(r"\{(\w+)\}", path)}


def _probes(path, method, operation, path_parameters):
    for parameter in path_parameters + operation.get("parameters", []):
        for value in _bad_values(parameter.get("schema", {})):
            yield parameter["in"], parameter["name"], value
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        for name, field in _schema(body["schema"]).get("properties", {}).items():
            for value in _bad_values(field):
                yield "body", name, value


def _operations_with_probes():
    for index, (path, method, operation, path_parameters) in enumerate(_operations()):
        probes = list(_probes(path, method, operation, path_parameters))
        if probes:
            yield pytest.param(method, path, ROLES[index % len(ROLES)], probes, id=f"{method.upper()} {path}")


@pytest.mark.parametrize("method, path, role, probes", list(_operations_with_probes()))
def test_edge_values_are_refused_as_documented(client, world, _firebase, method, path, role, probes):
    documented = DOCUMENT["paths"][path][method]["responses"]
    wrong = []
    for where, name, value in probes:
        path_values = _good_path(path, world)
        query, body = {}, None
        if where == "path":
            path_values[name] = value
        elif where == "query":
            query[name] = value
        else:
            body = {name: value}
        url = path.format(**{k: str(v) for k, v in path_values.items()})
        response = client.open(url, method=method.upper(), query_string=query, json=body,
                               headers=headers(getattr(world, role)))
        if response.status_code >= 500 or str(response.status_code) not in documented or (
                response.status_code >= 400 and response.mimetype != "application/problem+json"):
            wrong.append((where, name, value, response.status_code, response.get_data(as_text=True)[:200]))
    assert not wrong, wrong
