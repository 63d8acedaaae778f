"""The area's month at a glance, one row per posyandu, and the colours a person reads at once.

The indicators come from ``posyandu.reports.glance.area_glance``, the shared per-area function
the command-centre feed also uses (one definition of each number): D (children weighed in the
month) against S (children under five registered), stunting (HAZ < -2) and wasting (WHZ < -2)
among the children measured, 2T, BGM, overdue immunization doses, the SMART data-quality class
and the early-warning count. This module only adds the colours.
"""
from __future__ import annotations

from dataclasses import dataclass, field


#: Colour thresholds (WHO/UNICEF prevalence thresholds for public-health significance, 2018:
#: stunting ≥ 30 % very high, 20–30 % high, 10–20 % medium; wasting ≥ 15 % very high, 10–15 %
#: high, 5–10 % medium; D/S: the Kemenkes SPM target of 80 % weighing participation).
STUNTING_BANDS = ((30, "bad"), (20, "poor"), (10, "fair"))
WASTING_BANDS = ((15, "bad"), (10, "poor"), (5, "fair"))
DS_TARGET = 80.0
QUALITY_COLOURS = {"excellent": "good", "good": "good", "acceptable": "fair", "problematic": "bad"}


def band(value, bands) -> str:
    if value is None:
        return "none"
    for threshold, colour in bands:
        if value >= threshold:
            return colour
    return "good"


@dataclass
class GlanceRow:
    posyandu: dict
    registered: int = 0
    measured: int = 0
    stunting_pct: float | None = None
    wasting_pct: float | None = None
    ds_pct: float | None = None
    two_t: int = 0
    bgm: int = 0
    overdue_doses: int | None = None
    quality_class: str | None = None
    early_warning: int = 0
    colours: dict = field(default_factory=dict)

    def paint(self) -> "GlanceRow":
        self.colours = {
            "stunting": band(self.stunting_pct, STUNTING_BANDS),
            "wasting": band(self.wasting_pct, WASTING_BANDS),
            "ds": "none" if self.ds_pct is None else ("good" if self.ds_pct >= DS_TARGET
                                                      else "fair" if self.ds_pct >= 60 else "bad"),
            "two_t": "good" if self.two_t == 0 else "poor",
            "bgm": "good" if self.bgm == 0 else "bad",
            "overdue": "none" if self.overdue_doses is None else ("good" if self.overdue_doses == 0 else "poor"),
            "quality": QUALITY_COLOURS.get(self.quality_class or "", "none"),
            "early_warning": "good" if self.early_warning == 0 else "bad",
        }
        return self


def area_rows(scope, area, month, by: str = "posyandu") -> list[GlanceRow]:
    """One painted row per posyandu (or per group of level ``by``) of ``area`` (already resolved
    in ``scope``) for ``month``, from the shared ``reports.glance.area_glance`` (the
    command-centre feed's numbers)."""
    from ..reports.glance import area_glance
    rows = area_glance(area, month, by=by)
    return [_from_shared(item).paint() for item in rows]


def _pct_of(item: dict, name: str):
    value = item.get(name)
    return value.get("pct") if isinstance(value, dict) else value


def _from_shared(item: dict) -> GlanceRow:
    return GlanceRow(posyandu={"id": item.get("key"), "code": item.get("code"), "name": item.get("name"),
                               "level": item.get("level") or "posyandu"},
                     registered=item.get("registered") or 0, measured=item.get("measured") or 0,
                     stunting_pct=_pct_of(item, "stunting"), wasting_pct=_pct_of(item, "wasting"),
                     ds_pct=item.get("ds_pct"), two_t=item.get("two_t") or 0, bgm=item.get("bgm") or 0,
                     overdue_doses=item.get("overdue_doses"), quality_class=item.get("quality_class"),
                     early_warning=item.get("early_warning") or 0)
