"""Loading the versioned schedule data (CSV + JSON overlay), once per process.

* ``data/immunization-schedule-id.csv``: the domain CSV (codes, series,
  programme, day approximations, ``IDL2017=/IDL2023=/IBL=`` tags in ``notes``).
* ``data/schedule-rules-id.json``: the calendar overlay and every rule or
  default that is not verified (grace windows, cohort start dates, region
  flags, PCV first-dose rules, completeness deadlines, names, FHIR mapping).

Both files are parsed once into immutable objects; :func:`default_schedule`
caches the result for the life of the process.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, NamedTuple

from .ages import AgeSpec, parse_age

__all__ = [
    "DATA_DIR",
    "CompletenessDef",
    "ConditionalInterval",
    "DoseDef",
    "FirstDoseRule",
    "RegionSettings",
    "ScheduleData",
    "StaticDates",
    "default_schedule",
    "load_schedule",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_RULES_FILE = DATA_DIR / "schedule-rules-id.json"

_TAG_RE = re.compile(r"\b(IDL2017|IDL2023|IBL)=([YN])")


@dataclass(frozen=True, slots=True)
class ConditionalInterval:
    """Use ``min_interval`` when the child is at least ``from_age`` old on the dose date."""

    from_age: AgeSpec
    min_interval: AgeSpec
    valid_min_interval: AgeSpec


@dataclass(frozen=True, slots=True)
class DoseDef:
    code: str
    index: int                      # row order in the CSV (display / phrase order)
    position: int                   # 0-based position within its series
    series: str
    dose_number: int
    antigen: str                    # CSV description
    program: str                    # 'dasar' | 'lanjutan'
    recommended_age: AgeSpec
    min_age: AgeSpec
    max_age: AgeSpec                # last permitted age, inclusive
    min_interval: AgeSpec | None    # programme interval, used for scheduling
    valid_min_interval: AgeSpec | None  # validity floor (None = same as min_interval)
    conditional_intervals: tuple[ConditionalInterval, ...]
    overdue_after: AgeSpec
    name_id: str
    name_en: str
    completeness_tags: frozenset[str]   # e.g. {'IDL2017', 'IDL2023'}
    csv_days: Mapping[str, int | None]  # the CSV's day columns, for cross-checks
    evidence: str                       # V / P / U
    source: str

    def name(self, lang: str = "id") -> str:
        return self.name_en if lang == "en" else self.name_id


@dataclass(frozen=True, slots=True)
class FirstDoseRule:
    series: str
    from_age: AgeSpec
    not_required: frozenset[str]
    reason: str


@dataclass(frozen=True, slots=True)
class CompletenessDef:
    key: str
    components: tuple[str, ...]          # dose codes from the CSV tag, CSV order
    regional: Mapping[str, str]          # dose code -> RegionSettings flag name
    deadline_age: AgeSpec                # doses must be given BEFORE birth + this
    label_id: str
    label_en: str


@dataclass(frozen=True, slots=True)
class RegionSettings:
    """Per-kabupaten programme settings.

    ``cohort_born_from`` maps a cohort key of the data file (``"PCV"``,
    ``"RV"``, ``"IPV2"``, ``"JE"``) to the first BIRTH DATE that is eligible
    (children born on or after it get the doses).  Keys missing here fall back
    to the national default of the data file; an explicit ``None`` means "no
    cohort restriction".  Use :meth:`ScheduleData.national_region` for the
    national defaults.
    """

    kabupaten_code: str | None = None
    je_programme: bool = False
    cohort_born_from: Mapping[str, date | None] = field(default_factory=dict)


class StaticDates(NamedTuple):
    """Dates that depend only on the birth date (cached per birth date)."""

    min_date: date        # birth + min_age
    rec_date: date        # birth + recommended_age
    latest_date: date     # birth + max_age (inclusive)
    overdue_date: date    # rec_date + overdue_after
    cond_from: tuple[date, ...]   # birth + from_age of each conditional interval


@dataclass(frozen=True)
class ScheduleData:
    version: str                         # JSON 'version'
    data_version: str                    # version + CSV/JSON content hash
    source: str
    doses: tuple[DoseDef, ...]           # CSV order
    by_code: Mapping[str, DoseDef]
    series: Mapping[str, tuple[DoseDef, ...]]   # series -> doses by position
    series_names: Mapping[str, tuple[str, str]]  # series -> (id, en)
    cohort_doses: Mapping[str, str]      # dose code -> cohort key
    cohort_defaults: Mapping[str, date | None]
    region_flags: Mapping[str, str]      # dose code -> RegionSettings attribute
    national_je_programme: bool
    first_dose_rules: Mapping[str, tuple[FirstDoseRule, ...]]
    completeness: Mapping[str, CompletenessDef]
    early_dose_grace_days: int
    fhir_map: Mapping[str, tuple[str, str]]  # status value -> (system, code)
    phrases: Mapping[str, Mapping[str, str]]
    _static_cache: dict = field(default_factory=dict, repr=False, compare=False)
    _national: dict = field(default_factory=dict, repr=False, compare=False)

    def national_region(self, kabupaten_code: str | None = None) -> RegionSettings:
        """RegionSettings with the national defaults of the data file (cached, read-only)."""
        hit = self._national.get(kabupaten_code)
        if hit is None:
            hit = RegionSettings(
                kabupaten_code=kabupaten_code,
                je_programme=self.national_je_programme,
                cohort_born_from=MappingProxyType(dict(self.cohort_defaults)),
            )
            if len(self._national) < 1000:
                self._national[kabupaten_code] = hit
        return hit

    def static_dates(self, birth_date: date) -> tuple[StaticDates, ...]:
        """Per dose (CSV order), the dates that depend only on the birth date.

        Cached per birth date: a reminder run over 100,000 children only has
        ~1,800 distinct birth dates under five.
        """
        hit = self._static_cache.get(birth_date)
        if hit is None:
            out = []
            for d in self.doses:
                rec = d.recommended_age.add_to(birth_date)
                out.append(StaticDates(
                    d.min_age.add_to(birth_date), rec, d.max_age.add_to(birth_date),
                    d.overdue_after.add_to(rec),
                    tuple(c.from_age.add_to(birth_date) for c in d.conditional_intervals)))
            hit = tuple(out)
            if len(self._static_cache) > 20000:
                self._static_cache.clear()
            self._static_cache[birth_date] = hit
        return hit


def _opt_age(value) -> AgeSpec | None:
    return None if value in (None, "") else parse_age(value)


def _opt_int(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value else None


def load_schedule(rules_path: str | Path | None = None,
                  csv_path: str | Path | None = None) -> ScheduleData:
    """Parse the data files.  Prefer :func:`default_schedule` (cached)."""
    rules_path = Path(rules_path) if rules_path else DEFAULT_RULES_FILE
    rules_bytes = rules_path.read_bytes()
    rules = json.loads(rules_bytes)
    for key in ("version", "source", "doses"):
        if key not in rules:
            raise ValueError(f"{rules_path}: missing key {key!r}")
    csv_path = Path(csv_path) if csv_path else rules_path.parent / rules["schedule_csv"]
    csv_bytes = csv_path.read_bytes()
    rows = list(csv.DictReader(csv_bytes.decode("utf-8").splitlines()))

    defaults = rules.get("defaults", {})
    default_overdue = parse_age(defaults.get("overdue_after", {}).get("value", "1m"))
    grace_days = int(defaults.get("early_dose_grace_days", {}).get("value", 0))
    if grace_days < 0:
        raise ValueError("early_dose_grace_days must be >= 0")

    overlay = rules["doses"]
    csv_codes = [r["code"] for r in rows]
    if set(csv_codes) != set(overlay):
        raise ValueError(
            f"CSV and JSON dose codes differ: csv-only={sorted(set(csv_codes) - set(overlay))}, "
            f"json-only={sorted(set(overlay) - set(csv_codes))}")

    raw: list[dict] = []
    for idx, row in enumerate(rows):
        o = overlay[row["code"]]
        cond = tuple(
            ConditionalInterval(
                from_age=parse_age(c["if_age_at_dose_from"]),
                min_interval=parse_age(c["min_interval"]),
                valid_min_interval=parse_age(c.get("valid_min_interval") or c["min_interval"]),
            )
            for c in o.get("conditional_min_interval", ())
        )
        tags = frozenset(t for t, yn in _TAG_RE.findall(row["notes"]) if yn == "Y")
        raw.append(dict(
            code=row["code"], index=idx, series=row["series"],
            dose_number=int(row["dose_number"]), antigen=row["antigen"], program=row["program"],
            recommended_age=parse_age(o["recommended_age"]), min_age=parse_age(o["min_age"]),
            max_age=parse_age(o["max_age"]), min_interval=_opt_age(o.get("min_interval")),
            valid_min_interval=_opt_age(o.get("valid_min_interval")),
            conditional_intervals=cond,
            overdue_after=_opt_age(o.get("overdue_after")) or default_overdue,
            name_id=o["name_id"], name_en=o["name_en"], completeness_tags=tags,
            csv_days={
                "recommended": _opt_int(row["recommended_age_days"]),
                "min_age": _opt_int(row["min_age_days"]),
                "max_age": _opt_int(row["max_age_days"]),
                "min_interval": _opt_int(row["min_interval_days_from_previous"]),
            },
            evidence=o.get("tag", ""), source=o.get("source", ""),
        ))

    # position within series, ordered by dose number (CSV order breaks ties)
    series_members: dict[str, list[dict]] = {}
    for r in raw:
        series_members.setdefault(r["series"], []).append(r)
    for members in series_members.values():
        members.sort(key=lambda r: (r["dose_number"], r["index"]))
        for pos, r in enumerate(members):
            r["position"] = pos
    doses = tuple(DoseDef(**r) for r in raw)
    by_code = {d.code: d for d in doses}
    series = {
        name: tuple(by_code[r["code"]] for r in members) for name, members in series_members.items()
    }
    for d in doses:
        if d.position and d.min_interval is None:
            raise ValueError(f"{d.code}: later dose of series {d.series} needs min_interval")

    series_names = {
        k: (v["name_id"], v["name_en"]) for k, v in rules.get("series", {}).items()
    }
    for s in series:
        series_names.setdefault(s, (s, s))

    cohort_doses: dict[str, str] = {}
    cohort_defaults: dict[str, date | None] = {}
    for key, c in rules.get("cohorts", {}).items():
        cohort_defaults[key] = date.fromisoformat(c["born_from"]) if c.get("born_from") else None
        for code in c["doses"]:
            if code not in by_code:
                raise ValueError(f"cohort {key}: unknown dose {code}")
            cohort_doses[code] = key

    region_flags = {code: v["flag"] for code, v in rules.get("region_flags", {}).items()}
    valid_flags = {"je_programme"}
    for code, flag in region_flags.items():
        if code not in by_code or flag not in valid_flags:
            raise ValueError(f"region_flags: bad entry {code}: {flag}")
    national_je = bool(rules.get("national_region_defaults", {}).get("je_programme", False))

    fdr: dict[str, list[FirstDoseRule]] = {}
    for r in rules.get("first_dose_age_rules", ()):
        fdr.setdefault(r["series"], []).append(FirstDoseRule(
            series=r["series"], from_age=parse_age(r["from_age"]),
            not_required=frozenset(r["not_required"]), reason=r["reason"]))

    completeness = {}
    for key, c in rules.get("completeness", {}).items():
        comps = tuple(d.code for d in doses if c["csv_tag"] in d.completeness_tags)
        regional = dict(c.get("regional", {}))
        for code, flag in regional.items():
            if code not in by_code or flag not in valid_flags:
                raise ValueError(f"completeness {key}: bad regional entry {code}: {flag}")
        completeness[key] = CompletenessDef(
            key=key, components=comps, regional=regional,
            deadline_age=parse_age(c["deadline_age"]),
            label_id=c.get("label_id", key), label_en=c.get("label_en", key))

    fhir_rules = rules.get("fhir", {}).get("map", {})
    fhir_map = {k: (v["system"], v["code"]) for k, v in fhir_rules.items()}
    digest = hashlib.sha256(csv_bytes + b"\0" + rules_bytes).hexdigest()[:10]
    return ScheduleData(
        version=rules["version"],
        data_version=f"{rules['version']}+{digest}",
        source=rules["source"],
        doses=doses, by_code=by_code, series=series, series_names=series_names,
        cohort_doses=cohort_doses, cohort_defaults=cohort_defaults,
        region_flags=region_flags, national_je_programme=national_je,
        first_dose_rules={k: tuple(v) for k, v in fdr.items()},
        completeness=completeness, early_dose_grace_days=grace_days,
        fhir_map=fhir_map, phrases=rules.get("phrases", {}),
    )


@lru_cache(maxsize=1)
def default_schedule() -> ScheduleData:
    """The packaged national schedule, parsed once per process."""
    return load_schedule()
