"""A posyandu's time zone, derived from its province (posyandu-operations-id.md §6).

``data/provinces.csv`` lists every province by Kemendagri code with its IANA zone
(reporting-id.md §5 for the codes; 93–95 marked [U] there). Kalimantan Barat and Kalimantan
Tengah are WIB but use ``Asia/Pontianak``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..core.calendar import INDONESIAN_ZONES, zone_label

__all__ = ["Province", "provinces", "province", "is_known_province", "zone_for_code", "zone_label",
           "INDONESIAN_ZONES"]


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    timezone: str

    @property
    def zone_label(self) -> str:
        return zone_label(self.timezone)


@lru_cache(maxsize=1)
def provinces() -> dict[str, Province]:
    text = resources.files(__package__).joinpath("data/provinces.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {row["code"]: Province(row["code"], row["name"], row["timezone"]) for row in rows}


def province(code: str) -> Province | None:
    return provinces().get((code or "")[:2])


def is_known_province(code: str) -> bool:
    return (code or "")[:2] in provinces()


def zone_for_code(region_code: str) -> str:
    """IANA zone for any undotted region code (by its first two digits). KeyError if unknown."""
    found = province(region_code)
    if found is None:
        raise KeyError(f"unknown province code {region_code[:2]!r}")
    return found.timezone
