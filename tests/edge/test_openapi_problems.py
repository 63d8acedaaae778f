"""Issue 9 §1: the OpenAPI document describes the errors as they are sent: a ``Problem`` schema
in ``application/problem+json``, and per operation the statuses it can answer instead of a
``default`` ``application/json`` response (posyandu/openapi.py)."""
from __future__ import annotations

import pytest

from tests.factories import headers

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get(f"{API}/openapi.json").json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def resolve(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response


def test_the_problem_schema_is_documented(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert set(problem["required"]) == {"type", "title", "status"}
    assert "Error" not in spec["components"]["schemas"]


def test_every_error_response_is_problem_json_and_no_default(spec):
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        for code, response in responses.items():
            if int(code) >= 400:
                content = resolve(spec, response)["content"]
                assert list(content) == [PROBLEM], (method, path, code)
                assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_statuses_follow_what_the_operation_is(spec):
    for path, method, operation in operations(spec):
        codes = set(operation["responses"])
        assert "503" in codes, (method, path)
        if operation.get("security") != []:
            assert {"401", "403", "404"} <= codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= codes, (method, path)
    login = spec["paths"][f"{API}/auth/login"]["post"]
    assert login["security"] == [] and "429" in login["responses"] and "403" not in login["responses"]
    assert "429" in spec["paths"][f"{API}/auth/firebase"]["post"]["responses"]


def test_an_answered_problem_matches_the_schema(client, world, spec):
    response = client.post(f"{API}/children", json={"name": ""}, headers=headers(world.kader_a1))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    body = response.json
    assert set(body) <= set(spec["components"]["schemas"]["Problem"]["properties"])
    assert isinstance(body["errors"]["name"], list)
