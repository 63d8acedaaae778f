"""posyandu.schema_dump: the planned dump equals marshmallow's own ``Schema.dump`` for every
kind of field, value and object the API hands it (the suite also cross-checks every real answer:
``DUMP_CROSS_CHECK`` in the tests' configuration)."""
from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import marshmallow as ma
import pytest
from marshmallow import fields

from posyandu.blueprint import DumpMismatch, plan_schema_dump
from posyandu.schema_dump import planned_dump


class Inner(ma.Schema):
    code = fields.String(allow_none=True)
    z = fields.Float(allow_none=True)


class Hooked(ma.Schema):
    n = fields.Integer()

    @ma.post_dump
    def _double(self, data, **kwargs):
        return {**data, "n": data["n"] * 2}


class Everything(ma.Schema):
    text = fields.String()
    raw_bytes = fields.String()
    ident = fields.UUID(allow_none=True)
    count = fields.Integer()
    count_text = fields.Integer(as_string=True)
    ratio = fields.Float()
    flag = fields.Boolean(allow_none=True)
    day = fields.Date()
    day_custom = fields.Date(format="%d/%m/%Y")
    at = fields.AwareDateTime()
    at_stamp = fields.DateTime(format="timestamp")
    renamed = fields.String(data_key="outName")
    elsewhere = fields.Integer(attribute="source_value")
    dotted = fields.String(attribute="child.name")
    defaulted = fields.String(dump_default="none given")
    method = fields.Method("_method")
    constant = fields.Constant("always")
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))
    many_inner = fields.Nested(Inner, many=True)
    only_code = fields.Nested(Inner, only=("code",))
    scores = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    nested_map = fields.Dict(keys=fields.String(), values=fields.Nested(Inner))
    free = fields.Dict()
    numbers = fields.List(fields.Integer())
    email = fields.Email()
    hooked = fields.Nested(Hooked)
    decimal = fields.Decimal(allow_none=True)
    secret = fields.String(load_only=True)

    def _method(self, obj):
        return "m:" + str(_get(obj, "text"))


def _get(obj, key):
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _full(**overrides) -> dict:
    data = {
        "text": "Putri", "raw_bytes": b"bytes", "ident": uuid.UUID(int=7), "count": 3.0, "count_text": 4,
        "ratio": 2, "flag": 0, "day": dt.date(2026, 11, 5), "day_custom": dt.date(2026, 1, 2),
        "at": dt.datetime(2026, 11, 5, 3, 4, 5, tzinfo=dt.timezone.utc),
        "at_stamp": dt.datetime(2026, 11, 5, tzinfo=dt.timezone.utc), "renamed": "r", "source_value": 9,
        "child": {"name": "Budi"}, "inner": {"code": "tbu.stunted", "z": -2.5},
        "inners": [{"code": "a", "z": 1}, {"code": None, "z": None}], "many_inner": [{"code": "b"}],
        "only_code": {"code": "c", "z": 9.0}, "scores": {"zlen": -1.25, "zwei": None},
        "nested_map": {"bbu": {"code": "x", "z": 0.5}}, "free": {"a": [1, 2]}, "numbers": [1, 2.0, True],
        "email": "a@b.id", "hooked": {"n": 4}, "decimal": None, "secret": "never shown",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("obj", [
    _full(),
    _full(ident=None, flag=None, inner=None, inners=None, scores=None, decimal=None, text=None),
    {"text": "only one key"},  # missing keys are left out, defaults filled in
    {},
    SimpleNamespace(**_full()),  # attributes instead of keys
    SimpleNamespace(text="x"),
    {"items": 1},  # a key named like a dict method
])
def test_planned_dump_equals_marshmallow(obj):
    schema = Everything()
    assert planned_dump(schema)(obj) == schema.dump(obj)
    assert list(planned_dump(schema)(obj)) == list(schema.dump(obj))  # same key order


def test_many_and_none():
    schema = Everything(many=True)
    objs = [_full(), {"text": "b"}]
    assert planned_dump(schema)(objs) == schema.dump(objs)
    assert planned_dump(schema)(None) == schema.dump(None)
    assert planned_dump(Everything())(None) == Everything().dump(None)


def test_schemas_with_hooks_keep_marshmallow():
    assert planned_dump(Hooked())({"n": 2}) == {"n": 4}


def test_blueprint_cross_check_catches_a_difference(app):
    class Lying(ma.Schema):
        n = fields.Integer()

    schema = plan_schema_dump(Lying())
    with app.app_context():
        assert schema.dump({"n": "5"}) == {"n": 5}
        schema.fields["n"].num_type = str  # marshmallow now says "5"; the plan was made with int
        with pytest.raises(DumpMismatch):
            schema.dump({"n": 5})


class Node(ma.Schema):
    name = fields.String()
    children = fields.List(fields.Nested(lambda: Node()))


def test_a_schema_nesting_itself():
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c", "children": []}]}]}
    assert planned_dump(Node())(tree) == Node().dump(tree)
