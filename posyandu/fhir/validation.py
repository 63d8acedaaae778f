"""Validate resources against FHIR R4 (4.0.1) with the ``fhir.resources`` 6.4 models, plus the
SATUSEHAT rules the models do not know.

Why 6.4: it is the last ``fhir.resources`` release whose models are R4 (4.0.1), the version
SATUSEHAT speaks. 6.5 replaced them with R4B (4.3.0) and 7.x/8.x put R5 at the root with R4B as
a sub-package: no later release has R4. The models check structure (unknown elements,
cardinality, data types, required elements, choice types), not terminology bindings, so this
module adds: UTC instants (``+00:00``) on every dateTime we write, no event before
2014-06-03, and the administrative-gender codes.

Pure code: no Flask, no SQLAlchemy.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from fhir.resources import get_fhir_model_class
from pydantic import ValidationError

from .codes import default_codes

#: Elements we write as instants; SATUSEHAT wants them in UTC.
_INSTANT_KEYS = frozenset({"start", "end", "effectiveDateTime", "occurrenceDateTime", "recorded", "issued"})
_UTC_INSTANT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\+00:00$")
_GENDERS = frozenset({"male", "female", "other", "unknown"})


class ResourceInvalid(ValueError):
    """A resource that FHIR R4 or SATUSEHAT would reject. ``problems``: ``[(path, message)]``;
    messages name elements, never values (they may be personal data)."""

    def __init__(self, resource_type: str, logical_id: str | None, problems: list[tuple[str, str]]):
        self.resource_type = resource_type
        self.logical_id = logical_id
        self.problems = problems
        summary = "; ".join(f"{path}: {message}" for path, message in problems[:5])
        super().__init__(f"{resource_type}/{logical_id}: {summary}")


@lru_cache(maxsize=32)
def _model(resource_type: str):
    return get_fhir_model_class(resource_type)


def _walk(value: Any, path: str, problems: list[tuple[str, str]], min_date: str) -> None:
    if isinstance(value, Mapping):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if key in _INSTANT_KEYS and isinstance(child, str):
                if not _UTC_INSTANT.match(child):
                    problems.append((child_path, "must be a UTC instant YYYY-MM-DDThh:mm:ss+00:00"))
                elif child[:10] < min_date:
                    problems.append((child_path, f"must not be before {min_date} (SATUSEHAT)"))
            else:
                _walk(child, child_path, problems, min_date)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", problems, min_date)


def problems_of(resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Everything wrong with ``resource`` (empty when it is valid)."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return [("resourceType", "missing")]
    try:
        model = _model(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return [("resourceType", f"{resource_type!r} is not an R4 resource type")]
    problems: list[tuple[str, str]] = []
    try:
        model.parse_obj(dict(resource))
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
            problems.append((location or resource_type, error.get("msg", "invalid")))
    _walk(resource, "", problems, default_codes().min_event_date.isoformat())
    if "gender" in resource and resource["gender"] not in _GENDERS:
        problems.append(("gender", "must be male, female, other or unknown"))
    return problems


def validate(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``resource`` unchanged if valid; raise :class:`ResourceInvalid` otherwise."""
    problems = problems_of(resource)
    if problems:
        raise ResourceInvalid(str(resource.get("resourceType")), resource.get("id"), problems)
    return resource
