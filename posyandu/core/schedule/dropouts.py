"""Named immunization dropout indicators (``data/dropout-indicators-id.json``).

A dropout pair is either a named indicator (which may cross series: DPT-HB-Hib 1 -> MR 1) or a
later dose of the same series as the first (DPT-HB-Hib 2 -> 3), for the ad-hoc lists the API has
always allowed. Pure code: no Flask, no SQLAlchemy.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .data import default_schedule

DATA_PATH = Path(__file__).resolve().parent / "data" / "dropout-indicators-id.json"


@dataclass(frozen=True)
class DropoutIndicator:
    code: str
    from_dose: str
    to_dose: str
    label_id: str
    label_en: str
    source: str
    tag: str


@lru_cache(maxsize=1)
def indicators() -> dict[str, DropoutIndicator]:
    """The named indicators by code, in file order; every dose code checked against the schedule."""
    raw = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    by_code = default_schedule().by_code
    out: dict[str, DropoutIndicator] = {}
    for item in raw["indicators"]:
        indicator = DropoutIndicator(item["code"], item["from"], item["to"], item["label_id"], item["label_en"],
                                     item["source"], item["tag"])
        for dose in (indicator.from_dose, indicator.to_dose):
            if dose not in by_code:
                raise ValueError(f"dropout indicator {indicator.code}: unknown dose code {dose}")
        if indicator.code in out:
            raise ValueError(f"dropout indicator {indicator.code} given twice")
        out[indicator.code] = indicator
    return out


def named_pair(from_dose: str, to_dose: str) -> DropoutIndicator | None:
    return next((i for i in indicators().values() if (i.from_dose, i.to_dose) == (from_dose, to_dose)), None)


def is_valid_pair(from_dose: str, to_dose: str) -> bool:
    """A named indicator, or a later dose of the same series."""
    if named_pair(from_dose, to_dose) is not None:
        return True
    by_code = default_schedule().by_code
    a, b = by_code.get(from_dose), by_code.get(to_dose)
    return a is not None and b is not None and a.series == b.series and a.position < b.position
