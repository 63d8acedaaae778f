"""marshmallow's ``Schema.dump``, planned once per response schema.

Every API answer is dumped through its marshmallow schema (the same schema the OpenAPI document
describes). marshmallow walks the schema's fields per object and calls three or four generic
methods per value; for the measurement POST's nested answer (about 80 values) that was ~0.24 ms
of its ~2.5 ms of worker CPU, and a list page dumps 50-200 of them. :func:`planned_dump` reads
a schema's fields once and returns a function giving the same result with one small closure
per field: marshmallow's own conversion for the common field classes (``str``, ``str(uuid)``,
``int``, ``float``, ``date.isoformat`` ...), and for anything else (custom fields, ``Method``,
formats other than ISO, defaults, dotted attributes) the field's own ``serialize``. Schemas
with pre/post-dump hooks or their own ``get_attribute`` keep ``schema.dump``.

The suite checks equality on every response it makes: with ``DUMP_CROSS_CHECK`` set (the
tests' configuration) the Blueprint dumps each answer both ways and fails the request when
they differ (``posyandu.blueprint``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import marshmallow as ma
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import missing

_NOTHING = object()


def _same(value):
    return value


def _text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return str(value)


def _none_or(convert):
    def run(value):
        return None if value is None else convert(value)
    return run


def _temporal(field, functions: dict, iso) -> Callable | None:
    """Date/DateTime: only the ISO formats (the API's), as marshmallow calls them."""
    fmt = field.format or field.DEFAULT_FORMAT
    return _none_or(iso) if functions.get(fmt) is iso else None


def _value_converter(field) -> Callable[[Any], Any]:
    """What ``field._serialize(value, None, None)`` does, for a value already fetched."""
    kind = type(field)
    if kind in (fields.Boolean, fields.Raw, fields.Field):
        return _same
    if kind is fields.String:
        return _none_or(_text)
    if kind is fields.UUID:
        return _none_or(str)
    if kind in (fields.Integer, fields.Float) and not field.as_string:
        return _none_or(field.num_type)
    convert = None
    if kind in (fields.DateTime, fields.AwareDateTime, fields.NaiveDateTime):
        convert = _temporal(field, fields.DateTime.SERIALIZATION_FUNCS, dt.datetime.isoformat)
    elif kind is fields.Date:
        convert = _temporal(field, fields.Date.SERIALIZATION_FUNCS, dt.date.isoformat)
    elif kind is fields.Nested:
        convert = _nested(field)
    elif kind is fields.List:
        inner = _value_converter(field.inner)

        def convert(value):
            return None if value is None else [inner(each) for each in value]
    elif kind is fields.Dict and field.mapping_type is dict:
        convert = _mapping(field)
    if convert is not None:
        return convert
    return lambda value: field._serialize(value, None, None)


def _nested(field) -> Callable | None:
    """The nested schema is planned on first use, not here: a schema nesting itself (directly
    or through others) would otherwise be planned forever."""
    plan = []

    def dump_one(value):
        if not plan:
            plan.append(planned_dump(field.schema, many=False))
        return plan[0](value)
    if field.schema.many or field.many:
        return lambda value: None if value is None else [dump_one(each) for each in value]
    return lambda value: None if value is None else dump_one(value)


def _mapping(field) -> Callable:
    if not field.value_field and not field.key_field:
        return lambda value: None if value is None else dict(value)
    key = _value_converter(field.key_field) if field.key_field is not None else _same
    val = _value_converter(field.value_field) if field.value_field is not None else _same

    def convert(value):
        if value is None:
            return None
        return {key(k): val(v) for k, v in value.items()}
    return convert


def _getter(name: str) -> Callable[[Any], Any]:
    """marshmallow.utils.get_value for a plain key: item first (dicts), then attribute."""
    def get(obj):
        if type(obj) is dict:
            value = obj.get(name, _NOTHING)
            return getattr(obj, name, missing) if value is _NOTHING else value
        if not hasattr(obj, "__getitem__"):
            return getattr(obj, name, missing)
        try:
            return obj[name]
        except (KeyError, IndexError, TypeError, AttributeError):
            return getattr(obj, name, missing)
    return get


def _field_step(schema, name: str, field):
    """(output key, function obj -> value or ``missing``) for one field."""
    key = field.data_key if field.data_key is not None else name
    attr = field.attribute if field.attribute is not None else name
    plain = (field._CHECK_ATTRIBUTE and "." not in attr and field.dump_default is missing
             and type(field).get_value is fields.Field.get_value
             and type(field).serialize is fields.Field.serialize)
    if not plain:
        accessor = schema.get_attribute
        return key, lambda obj: field.serialize(name, obj, accessor=accessor)
    get, convert = _getter(attr), _value_converter(field)

    def step(obj):
        value = get(obj)
        return value if value is missing else convert(value)
    return key, step


def planned_dump(schema: ma.Schema, many: bool | None = None) -> Callable[[Any], Any]:
    """A function equal to ``schema.dump`` (``many`` as the schema says unless given)."""
    many = schema.many if many is None else many
    plannable = (not schema._hooks[PRE_DUMP] and not schema._hooks[POST_DUMP]
                 and type(schema).get_attribute is ma.Schema.get_attribute
                 and schema.dict_class is dict)
    if not plannable:
        marshmallow_dump = type(schema).dump  # not an instance's own (Blueprint plans those)
        return lambda obj: marshmallow_dump(schema, obj, many=many)
    steps = tuple(_field_step(schema, name, field) for name, field in schema.dump_fields.items())

    def dump_one(obj):
        out = {}
        for key, step in steps:
            value = step(obj)
            if value is not missing:
                out[key] = value
        return out
    if many:
        # marshmallow dumps ``None`` with many=True as one (empty) object
        return lambda objs: dump_one(objs) if objs is None else [dump_one(obj) for obj in objs]
    return dump_one
