"""Loader for the Indonesian rule set (``data/rules_id.json``).

The rule set is data, not code: every cut-off, label, KMS line, KBM table and
visit-check tolerance lives in the JSON file with its ``source``, evidence tag and
``note``. This module reads it once, validates it and compiles it into small
immutable objects that :mod:`.classify` and :mod:`.trend` use on the request path.

Pure Python (numpy only for the vectorised interval lookup); no Flask, no SQLAlchemy.

Interval convention (same as the JSON ``note``): categories are listed from the
lowest to the highest value. Category *k* covers the values above the ``upper`` of
category *k-1* up to its own ``upper``; ``upper_inclusive`` says whether a value
exactly equal to ``upper`` belongs to category *k* (otherwise it belongs to *k+1*).
The last category has ``upper = null``.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

DEFAULT_RULES_PATH = Path(__file__).resolve().parent / "data" / "rules_id.json"

#: Order in which the z-score indices are reported.
INDEX_ORDER = ("bbu", "tbu", "bbtb", "imtu", "lku")

#: Warning codes the code refers to by name; the JSON must define all of them.
REQUIRED_WARNINGS = (
    "remeasure_weight", "remeasure_length", "remeasure_weight_length",
    "remeasure_head_circumference", "remeasure_arm_circumference",
    "length_decreased", "weight_change_implausible", "oedema",
    "lila_severe_acute", "lila_moderate_acute", "bgm",
    "weight_not_gained", "weight_not_gained_2t", "above_orange_line",
)
REQUIRED_REASONS = ("not_assessable", "length_out_of_range", "oedema", "not_applicable")

#: Words PMK 2/2020 reserves for BB/PB, BB/TB (and IMT/U); never on a BB/U result.
_FORBIDDEN_BBU_WORDS = ("gizi buruk", "gizi kurang", "gizi baik", "gizi lebih")


class RulesError(ValueError):
    """The rule data file is inconsistent."""


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    upper: float | None          # None: no upper bound (last category)
    upper_inclusive: bool
    label_id: str
    label_en: str
    interval: str


@dataclass(frozen=True, slots=True)
class IndexRule:
    """One classified index (z-score based, or LiLA in cm)."""

    key: str                     # "bbu", "tbu", "bbtb", "imtu", "lku", "lila"
    z_key: str                   # engine key of the rounded z ("zwei")
    raw_key: str                 # engine key of the unrounded z ("zwei_raw")
    flag_key: str                # engine key of the implausibility flag ("fwei")
    label_id: str
    label_en: str
    label_lying: tuple[str, str] | None
    label_standing: tuple[str, str] | None
    remeasure_warning: str
    affected_by_oedema: bool
    screening: bool
    categories: tuple[Category, ...]

    def categorize(self, value: float) -> Category:
        """Category of a finite (or infinite) value; scalar fast path."""
        for cat in self.categories:
            upper = cat.upper
            if upper is None or value < upper or (cat.upper_inclusive and value == upper):
                return cat
        raise AssertionError("unreachable: last category has no upper bound")

    def categorize_array(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Object array of category codes (None where ``valid`` is False)."""
        out = np.full(values.shape, None, dtype=object)
        remaining = valid.copy()
        with np.errstate(invalid="ignore"):
            for cat in self.categories:
                if cat.upper is None:
                    hit = remaining
                elif cat.upper_inclusive:
                    hit = remaining & (values <= cat.upper)
                else:
                    hit = remaining & (values < cat.upper)
                out[hit] = cat.code
                remaining = remaining & ~hit
        return out

    def labels_for_age(self, age_days_rounded: Any, split_age_days: int) -> tuple[str, str]:
        """(id, en) index label: PB/U vs TB/U (BB/PB vs BB/TB) by rounded age in days."""
        if self.label_lying is None or age_days_rounded is None:
            return self.label_id, self.label_en
        try:
            age = float(age_days_rounded)
        except (TypeError, ValueError):
            return self.label_id, self.label_en
        if math.isnan(age):
            return self.label_id, self.label_en
        return self.label_lying if age < split_age_days else self.label_standing


@dataclass(frozen=True, slots=True)
class WarningDef:
    code: str
    kind: str                    # "remeasure" | "referral"
    refer: bool
    priority: int
    label_id: str
    label_en: str


class Rules:
    """Validated, compiled rule set. Treat as immutable; share freely between threads."""

    __slots__ = (
        "data", "ruleset", "version", "source", "fingerprint", "compare_on", "use_raw",
        "kms_red_line_z", "kms_orange_line_z", "split_age_days", "wfl_range_cm",
        "wfh_range_cm", "indices", "lila", "lila_age_min", "lila_age_max", "reasons",
        "warnings", "status_labels", "status_max_age_months", "birth_weight_counts",
        "kbm_age0_uses", "kbm_reading", "kbm_source", "kbm_version", "_kbm",
        "length_decrease_tolerance_cm", "weight_change_max_kg_per_month",
        "weight_change_min_interval_months",
    )

    def __init__(self, data: Mapping[str, Any], *, kbm_reading: str | None = None):
        try:
            self._compile(data, kbm_reading)
        except (KeyError, TypeError, IndexError) as exc:
            raise RulesError(f"rule data incomplete or malformed: {exc!r}") from exc

    # -- compilation ---------------------------------------------------------------
    def _compile(self, data: Mapping[str, Any], kbm_reading: str | None) -> None:
        self.data = _freeze(data)
        self.ruleset = str(data["ruleset"])
        self.source = str(data["source"])
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

        s = data["settings"]
        self.compare_on = s["compare_on"]["value"]
        if self.compare_on not in ("unrounded", "rounded"):
            raise RulesError(f"settings.compare_on must be 'unrounded' or 'rounded', "
                             f"got {self.compare_on!r}")
        self.use_raw = self.compare_on == "unrounded"
        self.kms_red_line_z = float(s["kms_red_line_z"]["value"])
        self.kms_orange_line_z = float(s["kms_orange_line_z"]["value"])
        if not self.kms_red_line_z < self.kms_orange_line_z:
            raise RulesError("kms_red_line_z must be below kms_orange_line_z")
        self.split_age_days = int(s["lying_standing_split_age_days"]["value"])
        self.wfl_range_cm = _range(s["wfl_length_range_cm"]["value"], "wfl_length_range_cm")
        self.wfh_range_cm = _range(s["wfh_height_range_cm"]["value"], "wfh_height_range_cm")

        self.reasons = {code: (r["id"], r["en"]) for code, r in data["reasons"].items()}
        for code in REQUIRED_REASONS:
            if code not in self.reasons:
                raise RulesError(f"reasons.{code} missing")
        self.warnings = {
            code: WarningDef(code, w["kind"], bool(w["refer"]), int(w["priority"]),
                             w["id"], w["en"])
            for code, w in data["warnings"].items()
        }
        for code in REQUIRED_WARNINGS:
            if code not in self.warnings:
                raise RulesError(f"warnings.{code} missing")

        indices = {}
        for key in INDEX_ORDER:
            indices[key] = self._index(key, data["indices"][key])
        extra = set(data["indices"]) - set(INDEX_ORDER)
        if extra:
            raise RulesError(f"unknown indices in rule data: {sorted(extra)}")
        self.indices = MappingProxyType(indices)
        for cat in indices["bbu"].categories:
            for text in (cat.label_id, cat.label_en):
                low = text.lower()
                if any(word in low for word in _FORBIDDEN_BBU_WORDS):
                    raise RulesError(f"BB/U category {cat.code} must not be labelled {text!r} "
                                     "(PMK 2/2020 reserves gizi buruk/kurang for BB/PB, BB/TB)")
        lila = data["lila"]
        self.lila = self._index("lila", lila)
        self.lila_age_min = int(lila["age_months_min"])
        self.lila_age_max = int(lila["age_months_max"])

        t = data["trend"]
        self.status_labels = {k: (v["id"], v["en"]) for k, v in t["status_labels"].items()}
        if set(self.status_labels) != {"N", "T", "O", "B"}:
            raise RulesError("trend.status_labels must define exactly N, T, O, B")
        self.status_max_age_months = int(t["status_max_age_months"]["value"])
        self.birth_weight_counts = bool(t["birth_weight_counts_as_previous_month"]["value"])
        self.kbm_age0_uses = int(t["kbm_age0_uses_age_months"]["value"])
        kbm = t["kbm"]
        default_reading = kbm["active_reading"]
        reading = default_reading if kbm_reading is None else kbm_reading
        if reading not in kbm["readings"]:
            raise RulesError(f"unknown KBM reading {reading!r}; "
                             f"known: {sorted(kbm['readings'])}")
        r = kbm["readings"][reading]
        self.kbm_reading = reading
        self.kbm_source = r["source"]
        self.kbm_version = r["version"]
        table = {int(k): int(v) for k, v in r["kbm_g_by_age_months"].items()}
        ages = sorted(table)
        if ages != list(range(1, ages[-1] + 1)):
            raise RulesError("KBM table must have one row per month from 1 with no gaps")
        if any(g <= 0 for g in table.values()):
            raise RulesError("KBM values must be positive grams")
        # index = completed months; ages above the last key use the last value
        self._kbm = (None,) + tuple(table[a] for a in ages)
        if self.kbm_age0_uses not in table:
            raise RulesError("kbm_age0_uses_age_months must be a KBM table age")

        self.version = str(data["version"])
        if reading != default_reading:
            # a programmatic override must not be stored under the file's version
            self.version = f"{self.version}-kbm{reading}"

        vc = data["visit_checks"]
        self.length_decrease_tolerance_cm = float(vc["length_decrease_tolerance_cm"]["value"])
        self.weight_change_max_kg_per_month = float(vc["weight_change_max_kg_per_month"]["value"])
        self.weight_change_min_interval_months = float(
            vc["weight_change_min_interval_months"]["value"])
        if (self.length_decrease_tolerance_cm < 0 or self.weight_change_max_kg_per_month <= 0
                or self.weight_change_min_interval_months <= 0):
            raise RulesError("visit_checks values must be positive")

    def _index(self, key: str, d: Mapping[str, Any]) -> IndexRule:
        cats = []
        prev_upper = -math.inf
        raw = d["categories"]
        for i, c in enumerate(raw):
            upper = c["upper"]
            last = i == len(raw) - 1
            if last != (upper is None):
                raise RulesError(f"{key}: only the last category may (and must) have upper=null")
            if upper is not None:
                upper = float(upper)
                if not upper > prev_upper:
                    raise RulesError(f"{key}: category uppers must increase")
                prev_upper = upper
            if not str(c["code"]).startswith(key + "."):
                raise RulesError(f"{key}: category code {c['code']!r} must start with '{key}.'")
            cats.append(Category(c["code"], upper, bool(c["upper_inclusive"]), c["id"], c["en"],
                                 c.get("interval", "")))
        codes = [c.code for c in cats]
        if len(set(codes)) != len(codes):
            raise RulesError(f"{key}: duplicate category codes")
        if d["remeasure_warning"] not in self.warnings:
            raise RulesError(f"{key}: unknown remeasure_warning {d['remeasure_warning']!r}")
        lying = d.get("label_lying")
        standing = d.get("label_standing")
        if (lying is None) != (standing is None):
            raise RulesError(f"{key}: label_lying and label_standing go together")
        return IndexRule(
            key=key,
            z_key=d["z_key"],
            raw_key=d["z_key"] + "_raw",
            flag_key=d["flag_key"],
            label_id=d["label"]["id"],
            label_en=d["label"]["en"],
            label_lying=(lying["id"], lying["en"]) if lying else None,
            label_standing=(standing["id"], standing["en"]) if standing else None,
            remeasure_warning=d["remeasure_warning"],
            affected_by_oedema=bool(d.get("affected_by_oedema", False)),
            screening=bool(d.get("screening", False)),
            categories=tuple(cats),
        )

    # -- lookups -------------------------------------------------------------------
    def kbm_g(self, age_months: int) -> int | None:
        """Minimum monthly gain (g) for an age in completed months; None below 0.

        Age 0 uses the row named by ``trend.kbm_age0_uses_age_months``; ages past the
        last row use the last row (200 g from 12 months).
        """
        if age_months < 0:
            return None
        if age_months == 0:
            age_months = self.kbm_age0_uses
        kbm = self._kbm
        return kbm[age_months] if age_months < len(kbm) else kbm[-1]

    def category(self, code: str) -> Category:
        for rule in (*self.indices.values(), self.lila):
            for cat in rule.categories:
                if cat.code == code:
                    return cat
        raise KeyError(code)

    def category_codes(self) -> tuple[str, ...]:
        return tuple(c.code for rule in (*self.indices.values(), self.lila)
                     for c in rule.categories)

    def warning(self, code: str, detail: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A warning dict: code, label_id, label_en, kind, refer, priority, detail."""
        w = self.warnings[code]
        return {
            "code": w.code,
            "label_id": w.label_id,
            "label_en": w.label_en,
            "kind": w.kind,
            "refer": w.refer,
            "priority": w.priority,
            "detail": dict(detail) if detail else None,
        }

    def __repr__(self) -> str:
        return f"<Rules {self.version} kbm={self.kbm_reading} compare_on={self.compare_on}>"


def _range(value: Any, name: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not lo < hi:
        raise RulesError(f"{name}: lower bound must be below upper bound")
    return lo, hi


def _freeze(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return tuple(_freeze(v) for v in obj)
    return obj


def load_rules(path: str | Path | None = None, *, kbm_reading: str | None = None) -> Rules:
    """Read and validate a rule file (default: the packaged ``rules_id.json``).

    ``kbm_reading`` overrides ``trend.kbm.active_reading``; the resulting
    ``Rules.version`` then gets a ``-kbm<reading>`` suffix so results computed with
    it are never stored under the file's version.
    """
    p = DEFAULT_RULES_PATH if path is None else Path(path)
    with open(p, encoding="utf-8") as fh:
        data = json.load(fh)
    return Rules(data, kbm_reading=kbm_reading)


def rules_from_dict(data: Mapping[str, Any], *, kbm_reading: str | None = None) -> Rules:
    """Build rules from an already parsed mapping (tests, per-deployment overrides)."""
    return Rules(data, kbm_reading=kbm_reading)


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The packaged rule set, loaded once per process."""
    return load_rules()
