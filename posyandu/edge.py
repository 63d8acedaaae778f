"""The edge rules every request passes before a handler runs (issue 9 §1, docs/robustness.md).

They hold for a *class* of input, not per field, so a new schema or route gets them for free:

* **Text**: no string field (body, query, a sync record's fields, a dict key) may hold the NUL
  character or half of a UTF-16 surrogate pair. PostgreSQL refuses both (``psycopg.DataError``),
  SQLite would store what PostgreSQL refuses: refused here, 422 naming the field, on both.
* **Integers**: every ``fields.Integer`` input lies in PostgreSQL's ``integer`` range
  (-2147483648..2147483647; ``metadata={"format": "int64"}`` widens a field to ``bigint``), and
  says so in the OpenAPI (``minimum``/``maximum``). Integer path ids beyond it are not found
  (404): the ``int`` url converter is bounded.
* **Dates**: every date or date-time input lies in years 1900..2999 (no posyandu record is
  older; nothing overflows Python's date arithmetic or a time-zone shift).
* **Path text**: a NUL in a text path segment matches no route (404).
* **Size**: a request body above ``MAX_CONTENT_LENGTH`` (API) or ``SYNC_MAX_CONTENT_LENGTH``
  (``POST /sync/push``) is refused with 413 before it is read, whatever its Content-Length says.

The marshmallow rules are installed on marshmallow's own field classes (once per process), so
webargs' query parsing, every schema and the sync adapters all apply them.
"""
from __future__ import annotations

import datetime as _dt
import re

import marshmallow as ma
from marshmallow import fields
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
EARLIEST_DATE = _dt.date(1900, 1, 1)
LATEST_DATE = _dt.date(2999, 12, 31)

#: Default body limits (bytes); ``MAX_CONTENT_LENGTH`` / ``SYNC_MAX_CONTENT_LENGTH`` override.
API_MAX_BYTES = 1024 * 1024
#: A push of 1,000 records with every field filled (a child with names, NIK, KK, address;
#: tests/edge/test_size_limits.py measures 0.83 MB) fits about five times over.
SYNC_MAX_BYTES = 4 * 1024 * 1024
#: Endpoints whose bodies may be as large as a sync batch.
SYNC_ENDPOINTS = {"sync.push"}

TEXT_MESSAGE = "Remove the NUL character (\\u0000) or broken Unicode from this text."
INT_MESSAGE = "Must be a whole number from {min} to {max}."
DATE_MESSAGE = "Must be a date from 1900-01-01 to 2999-12-31."

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def bad_text(value: str) -> bool:
    """NUL or an unpaired surrogate: text PostgreSQL and UTF-8 cannot hold."""
    return bool(_BAD_TEXT.search(value))


def int_bounds(field: fields.Field) -> tuple[int, int]:
    if (field.metadata or {}).get("format") == "int64":
        return INT64_MIN, INT64_MAX
    return INT32_MIN, INT32_MAX


# --------------------------------------------------------------------------- marshmallow fields
_installed = False


def install_field_rules() -> None:
    """Give marshmallow's String, Integer, Date and DateTime the edge rules (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True

    string_deserialize = fields.String._deserialize

    def _string(self, value, attr, data, **kwargs):
        text = string_deserialize(self, value, attr, data, **kwargs)
        if isinstance(text, str) and bad_text(text):
            raise ma.ValidationError(TEXT_MESSAGE)
        return text

    fields.String._deserialize = _string

    integer_validated = fields.Integer._validated

    def _integer(self, value):
        number = integer_validated(self, value)
        low, high = int_bounds(self)
        if number is not None and not low <= number <= high:
            raise ma.ValidationError(INT_MESSAGE.format(min=low, max=high))
        return number

    fields.Integer._validated = _integer

    for cls in (fields.Date, fields.DateTime):
        _bound_dates(cls)


def _bound_dates(cls) -> None:
    original = cls._deserialize

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and bad_text(value):
            raise ma.ValidationError(TEXT_MESSAGE)
        result = original(self, value, attr, data, **kwargs)
        day = result.date() if isinstance(result, _dt.datetime) else result
        if isinstance(day, _dt.date) and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ma.ValidationError(DATE_MESSAGE)
        return result

    cls._deserialize = _deserialize


def integer_field_bounds(self, field, ret, **kwargs) -> dict:
    """apispec attribute function: every Integer field documents its bounds."""
    if isinstance(field, fields.Integer) and not isinstance(field, fields.Boolean):
        low, high = int_bounds(field)
        out = {}
        if "minimum" not in ret:
            out["minimum"] = low
        if "maximum" not in ret:
            out["maximum"] = high
        return out
    return {}


# --------------------------------------------------------------------------- url converters
def _at_most(limit: str) -> str:
    """A regex for the decimal numbers 0..``limit`` (leading zeros allowed)."""
    options = [rf"\d{{1,{len(limit) - 1}}}"] if len(limit) > 1 else []
    for i, digit in enumerate(limit):
        rest = len(limit) - i - 1
        if digit != "0":
            low = "0" if i else "1"
            if int(digit) - 1 >= int(low):
                options.append(limit[:i] + f"[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    options.append(limit)
    return "0*(?:" + "|".join(options) + ")"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` limited to PostgreSQL's integer: a larger id matches no route, so it is not
    found (404) -- by the regex, not ``max``: werkzeug answers 405 when a converter refuses a
    value another method's rule would have taken."""

    regex = _at_most(str(INT32_MAX))

    def __init__(self, map, fixed_digits=0, min=None, max=INT32_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class TextConverter(UnicodeConverter):
    """``<string:...>`` (the default) that never matches a segment holding NUL (by its regex, so
    such a path is not found rather than 405, see :class:`BoundedIntegerConverter`)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")

    def to_python(self, value: str) -> str:
        if bad_text(value):
            raise ValidationError()
        return value


class TextPathConverter(PathConverter):
    regex = "[^/\\x00][^\\x00]*?"
    def to_python(self, value: str) -> str:
        if bad_text(value):
            raise ValidationError()
        return value


def install_converters(app) -> None:
    """Before any route is added: the bounded/clean converters replace werkzeug's."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
    app.url_map.converters["path"] = TextPathConverter


# --------------------------------------------------------------------------- body size
def body_limit(app, endpoint: str | None) -> int:
    if endpoint in SYNC_ENDPOINTS:
        return int(app.config.get("SYNC_MAX_CONTENT_LENGTH") or SYNC_MAX_BYTES)
    return int(app.config.get("MAX_CONTENT_LENGTH") or API_MAX_BYTES)


def install_size_limits(app) -> None:
    """413 before the body is read: by its Content-Length at once, and while streaming (a chunked
    body without a length) through Flask's per-request ``max_content_length``."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no limit
        app.config["MAX_CONTENT_LENGTH"] = API_MAX_BYTES
    if app.config.get("SYNC_MAX_CONTENT_LENGTH") is None:
        app.config["SYNC_MAX_CONTENT_LENGTH"] = SYNC_MAX_BYTES

    @app.before_request
    def _limit_body():
        from flask import current_app, request
        limit = body_limit(current_app, request.endpoint)
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge(
                f"The request body is larger than {limit // 1024} KB; send less at once.")


def install(app) -> None:
    """All edge rules, before the blueprints are registered."""
    install_field_rules()
    install_converters(app)
    install_size_limits(app)


def path_integer_schema(converter) -> dict:
    schema = {"type": "integer", "minimum": max(converter.min or 0, 0)}
    schema["maximum"] = converter.max if converter.max is not None else INT32_MAX
    return schema


def path_text_schema(converter) -> dict:
    from flask_smorest.spec.plugins import unicodeconverter2paramschema
    return unicodeconverter2paramschema(converter)
