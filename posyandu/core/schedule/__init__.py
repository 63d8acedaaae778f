"""Indonesian routine immunization schedule engine (Kemenkes programme, under 2).

Pure code, no Flask/SQLAlchemy.  Data: ``data/immunization-schedule-id.csv``
and the overlay ``data/schedule-rules-id.json`` (see README.md here).

Typical use::

    from posyandu.core.schedule import evaluate_child, join_vaccine_names
    child = evaluate_child(date(2024, 1, 31), [("HB0", date(2024, 1, 31))], today=date(2024, 4, 1))
    for d in child.with_status(DoseStatus.DUE, DoseStatus.OVERDUE): ...
    child.idl.status, child.idl.missing
"""
from __future__ import annotations

from .ages import AgeSpec, add_months, parse_age
from .data import (
    CompletenessDef,
    DoseDef,
    RegionSettings,
    ScheduleData,
    default_schedule,
    load_schedule,
)
from .engine import (
    Administration,
    ChildSchedule,
    Completeness,
    CompletenessStatus,
    DoseResult,
    DoseStatus,
    InvalidReason,
    StatusReason,
    DoseWarning,
    evaluate_child,
)
from .names import dose_name, join_vaccine_names, series_name

__all__ = [
    "Administration",
    "AgeSpec",
    "ChildSchedule",
    "Completeness",
    "CompletenessDef",
    "CompletenessStatus",
    "DoseDef",
    "DoseResult",
    "DoseStatus",
    "InvalidReason",
    "RegionSettings",
    "ScheduleData",
    "StatusReason",
    "DoseWarning",
    "add_months",
    "default_schedule",
    "dose_name",
    "evaluate_child",
    "join_vaccine_names",
    "load_schedule",
    "national_region",
    "parse_age",
    "schedule_version",
    "series_name",
]


def schedule_version() -> str:
    """Version of the packaged data: JSON ``version`` + content hash of CSV and JSON."""
    return default_schedule().data_version


def national_region(kabupaten_code: str | None = None) -> RegionSettings:
    """RegionSettings with the national defaults of the data file."""
    return default_schedule().national_region(kabupaten_code)
