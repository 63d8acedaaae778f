"""The SATUSEHAT code data file (``data/satusehat_codes.json``), loaded once per process.

Every code system, identifier system URL and modelling choice that the domain notes tag [P] or
[U] is in that file with its tag and a note, so correcting one is a one-line data change.
Pure code: no Flask, no SQLAlchemy.
"""
from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "satusehat_codes.json"


class Codes:
    """Read-only view of the data file with the few look-ups the mapping needs."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.version: str = data["version"]
        self.min_event_date: date = date.fromisoformat(data["min_event_date"]["value"])
        self.identifier_systems = {k: v["value"] for k, v in data["identifier_systems"].items()}
        self.administrative_code = data["administrative_code"]
        self.patient = data["patient"]
        self.related_person = data["related_person"]
        self.organization = data["organization"]
        self.location = data["location"]
        self.encounter = data["encounter"]
        self.observation = data["observation"]
        self.immunization = data["immunization"]
        self.default_local_time: str = data["encounter"]["default_local_time"]["value"]
        self.vaccines = {k: v for k, v in data["immunization"]["vaccines"].items() if isinstance(v, dict)}

    def local_identifier_system(self, resource: str, organization_id: str | None) -> str:
        """``http://sys-ids.kemkes.go.id/encounter/{org}`` (or the URN fallback without org)."""
        if organization_id:
            return self.identifier_systems["local"].format(resource=resource.lower(),
                                                           organization_id=organization_id)
        return self.identifier_systems["local_without_organization"].format(resource=resource.lower())


def load_codes(path: str | Path | None = None) -> Codes:
    with open(path or DATA_FILE, encoding="utf-8") as handle:
        return Codes(json.load(handle))


@lru_cache(maxsize=1)
def default_codes() -> Codes:
    return load_codes()
