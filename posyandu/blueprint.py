"""The flask-smorest Blueprint every API feature uses.

``@blp.arguments(SomeSchema)`` with a schema *class* makes webargs build a new schema instance
(deep-copying every field) on every request; this Blueprint instantiates each arguments schema
once, when the route is declared. The OpenAPI document is the same.
"""
from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, *args, **kwargs):
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)
