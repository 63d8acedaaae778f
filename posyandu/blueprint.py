"""The flask-smorest Blueprint every API feature uses.

``@blp.arguments(SomeSchema)`` with a schema *class* makes webargs build a new schema instance
(deep-copying every field) on every request; this Blueprint instantiates each arguments schema
once, when the route is declared. ``@blp.response(status, Schema)`` dumps answers with the
schema's planned dump (``posyandu.schema_dump``: the same result as ``Schema.dump``, computed
with a closure per field instead of marshmallow's generic walk). The OpenAPI document is the same.
"""
from __future__ import annotations

import functools

import flask_smorest
from flask import current_app
from flask_smorest.utils import resolve_schema_instance

from .schema_dump import planned_dump


class DumpMismatch(AssertionError):
    """The planned dump differs from marshmallow's (only checked with ``DUMP_CROSS_CHECK``)."""


def plan_schema_dump(schema):
    """Give this schema instance the planned dump as its ``dump`` (flask-smorest calls
    ``schema.dump(result)``); other ``many`` values keep marshmallow's."""
    if getattr(schema, "_planned_dump", False):
        return schema
    planned = planned_dump(schema)
    marshmallow_dump = functools.partial(type(schema).dump, schema)

    def dump(obj, *, many=None):
        if many is not None and bool(many) != schema.many:
            return marshmallow_dump(obj, many=many)
        result = planned(obj)
        if current_app.config.get("DUMP_CROSS_CHECK"):
            expected = marshmallow_dump(obj)
            if result != expected:
                raise DumpMismatch(f"{type(schema).__name__}: planned dump {result!r} != {expected!r}")
        return result
    schema.dump = dump
    schema._planned_dump = True
    return schema


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def response(self, status_code, schema=None, *args, **kwargs):
        if schema is not None:
            schema = plan_schema_dump(resolve_schema_instance(schema))
        return super().response(status_code, schema, *args, **kwargs)
