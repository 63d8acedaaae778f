"""Marshmallow fields shared by several features' edge schemas.

* :class:`RegionCode` -- a Kemendagri region code: answered in the dotted form
  (``35.25.01.2001``) everywhere in the API, accepted dotted or undotted (``3525012001``) and
  handed to the operations undotted (the stored key). The undotted form is only for standards
  that demand it (SATUSEHAT/FHIR exports), never in this API (docs/errors-and-languages.md).
* :class:`Sex` -- the WHO/anthro coding 1 = laki-laki (male), 2 = perempuan (female), with a
  message that says so.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

#: A month, YYYY-MM, years 1900-2999 (no year 0; the date bounds of posyandu/edge.py).
MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"

SEX_CODES = {1: "laki-laki (male)", 2: "perempuan (female)"}
SEX_MESSAGE = "Use 1 for laki-laki (male) or 2 for perempuan (female)."


class RegionCode(fields.Field):
    """A Kemendagri region code: dotted on output; dotted or undotted on input, loaded undotted.

    ``level`` (``provinsi``/``kabupaten``/``kecamatan``/``desa``) restricts the input to codes of
    that level."""

    default_error_messages = {"invalid": "A region code is text, e.g. 35.25.01.2001."}

    def __init__(self, *, level: str | None = None, **kwargs):
        self.level = level
        metadata = kwargs.pop("metadata", {}) or {}
        example = {"provinsi": "35", "kabupaten": "35.25", "kecamatan": "35.25.01",
                   "desa": "35.25.01.2001"}.get(level, "35.25.01.2001")
        metadata.setdefault("description", "Kemendagri code")
        metadata["description"] += f" (dotted, e.g. {example}; undotted accepted on input)."
        metadata.setdefault("example", example)
        metadata.setdefault("type", "string")
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        from .regions.codes import dotted
        return dotted(value.replace(".", "")) if value else None

    def _deserialize(self, value, attr, data, **kwargs):
        from .regions import codes
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return codes.validate(value, level=self.level)
        except codes.CodeError as exc:
            raise ma.ValidationError(str(exc)) from None


class Sex(fields.Integer):
    """1 = laki-laki (male), 2 = perempuan (female); anything else is refused saying so."""

    default_error_messages = {"invalid": SEX_MESSAGE, "too_large": SEX_MESSAGE}

    def __init__(self, **kwargs):
        metadata = kwargs.pop("metadata", {}) or {}
        metadata.setdefault("description", "1 = laki-laki (male), 2 = perempuan (female)")
        metadata.setdefault("enum", sorted(SEX_CODES))
        super().__init__(metadata=metadata, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        number = super()._validated(value)
        if number not in SEX_CODES:
            raise self.make_error("invalid")
        return number
