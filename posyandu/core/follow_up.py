"""Follow-up lists, by name: why a child is listed, in words a cadre and a nutrition officer use.

The SQL of ``posyandu.reports.follow_up`` decides *which* children are listed (it must, to page
by a keyset); this module says *why*, from the values of one listed row: the catalogue of
reasons (codes, Bahasa Indonesia and English labels, the order in which a list shows them),
the rules that are plain arithmetic (new vs already stunted, months without a weighing) and
the reason entries with their numbers. Pure code: no Flask, no SQLAlchemy.

Reasons (``anthropometry-id.md`` §2, §4, §5, §7; ``reporting-id.md`` §1-2):

* ``severe_wasting``: gizi buruk, to refer: the month's record has BB/PB or BB/TB < −3 SD, or
  LiLA < 11.5 cm (6-59 months), or bilateral pitting oedema;
* ``wasted``: gizi kurang: BB/PB or BB/TB from −3 to < −2 SD, or LiLA 11.5 to < 12.5 cm, and
  not severe;
* ``stunted_new`` / ``stunted_known``: the latest valid PB/U or TB/U up to the month's end is
  < −2 SD; *new* when that measurement is in this month and the previous valid one (before the
  month) was not below −2 (or there was none): a child who recovered and fell back counts as a
  new episode; *known* otherwise (already stunted before this month);
* ``underweight``: BB/U < −2 SD (berat badan kurang or sangat kurang) in the month's record;
* ``bgm``: the month's weight below the KMS red line;
* ``two_t``: the month's weighing is the second T (tidak naik) in a row;
* ``not_weighed``: a target child not weighed this month (weighed last month, or not a target
  child long enough to have missed two);
* ``not_weighed_2m``: not weighed this month nor the month before (two months or more);
* ``early_warning``: a growth-faltering rule of ``core.growth.early_warning`` fired.

The month-status reasons (wasting, underweight, BGM, 2T) come from the month's record only
(its last weighing): a child not weighed this month is listed as not weighed, with her last
measurement shown. Values flagged implausible decide nothing (their categories are withheld
when they are stored, so they never list a child).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Reason", "REASONS", "REASON_CODES", "REASON_GROUPS", "reason", "month_index", "months_without_weighing",
           "stunting_episode", "explain", "label"]


@dataclass(frozen=True)
class Reason:
    code: str
    label_id: str
    label_en: str
    #: To refer to the puskesmas (not only to counsel at the next session).
    refer: bool = False

    def label(self, language: str = "id") -> str:
        return self.label_en if language == "en" else self.label_id


#: In the order a row lists them: what needs a referral first, then the chronic, then attendance.
REASONS: tuple[Reason, ...] = (
    Reason("severe_wasting", "Gizi buruk (BB/TB < −3 SD, LiLA < 11,5 cm atau edema): rujuk",
           "Severely wasted (WHZ < −3, MUAC < 11.5 cm or oedema): refer", refer=True),
    Reason("wasted", "Gizi kurang (BB/TB −3 s.d. < −2 SD atau LiLA 11,5 s.d. < 12,5 cm)",
           "Wasted (WHZ −3 to < −2, or MUAC 11.5 to < 12.5 cm)"),
    Reason("stunted_new", "Stunting baru bulan ini (TB/U < −2 SD)", "Newly stunted this month (HAZ < −2)"),
    Reason("stunted_known", "Sudah stunting sebelumnya (TB/U < −2 SD)", "Already stunted before (HAZ < −2)"),
    Reason("underweight", "Berat badan kurang (BB/U < −2 SD)", "Underweight (WAZ < −2)"),
    Reason("bgm", "BGM: di bawah garis merah KMS", "BGM: below the KMS red line", refer=True),
    Reason("two_t", "2T: berat badan tidak naik dua kali berturut-turut", "2T: no weight gain twice in a row",
           refer=True),
    Reason("not_weighed", "Terdaftar tetapi tidak ditimbang bulan ini", "Registered but not weighed this month"),
    Reason("not_weighed_2m", "Tidak ditimbang dua bulan atau lebih", "Not weighed for two months or more"),
    Reason("early_warning", "Peringatan dini gagal tumbuh", "Growth-faltering early warning"),
)
REASON_CODES = tuple(r.code for r in REASONS)
_BY_CODE = {r.code: r for r in REASONS}
#: Filter values that stand for several reasons.
REASON_GROUPS = {"stunted": ("stunted_new", "stunted_known")}

#: Category codes (``measurement.cat_*``) behind the reasons: the stored PMK 2/2020 categories.
STUNTED = ("tbu.stunted", "tbu.severely_stunted")
SEVERELY_STUNTED = "tbu.severely_stunted"
SEVERELY_WASTED = "bbtb.severely_wasted"
WASTED = "bbtb.wasted"
MUAC_SEVERE = "lila.severe_acute"
MUAC_MODERATE = "lila.moderate_acute"
UNDERWEIGHT = ("bbu.underweight", "bbu.severely_underweight")
SEVERELY_UNDERWEIGHT = "bbu.severely_underweight"


def reason(code: str) -> Reason:
    return _BY_CODE[code]


def label(code: str, language: str = "id") -> str:
    return _BY_CODE[code].label(language)


def expand(code: str | None) -> tuple[str, ...]:
    """The reason codes a ``reason`` filter stands for (``stunted`` → new and known)."""
    if code is None:
        return REASON_CODES
    return REASON_GROUPS.get(code, (code,))


def month_index(day: _dt.date) -> int:
    return day.year * 12 + day.month - 1


def months_without_weighing(month: int, last_weighed_on: _dt.date | None, since: _dt.date) -> int:
    """Calendar months up to and including ``month`` (a month index) without a weighing: counted
    from the month after the last weighing, or, never weighed, from ``since`` (the later of the
    birth and the registration). Last weighed in January → March gives 2 (February, March)."""
    if last_weighed_on is not None:
        return max(0, month - month_index(last_weighed_on))
    return max(0, month - month_index(since) + 1)


def stunting_episode(latest_in_month: bool, previous_stunted: bool | None) -> str:
    """``stunted_new`` or ``stunted_known`` for a child whose latest valid length is < −2 SD:
    new when that length was measured this month and the previous valid one (``None``: none)
    was not below −2; a child measured stunted in an earlier month is already known."""
    if latest_in_month and not previous_stunted:
        return "stunted_new"
    return "stunted_known"


def _r2(value):
    return None if value is None else round(float(value), 2)


def _date(value):
    return value.isoformat() if isinstance(value, (_dt.date, _dt.datetime)) else value


def explain(codes, values: Mapping[str, Any], language: str = "id", *, early_warning: list[dict] | None = None) -> list[dict]:
    """Reason entries for the listed ``codes`` of one row, in catalogue order: ``code``,
    ``label`` (caller's language), ``label_id``, ``label_en``, ``refer`` and ``values`` (the
    numbers). ``values`` holds the row's numbers by name: ``measured_on``, ``whz``, ``waz``,
    ``muac_cm``, ``oedema``, ``cat_bbtb``, ``cat_lila``, ``cat_bbu``, ``weight_kg``, ``gain_g``,
    ``kbm_g``, ``length_measured_on``, ``haz``, ``cat_tbu``, ``previous_haz``,
    ``previous_measured_on``, ``last_weighed_on``, ``months_without_weighing``.
    ``early_warning``: the fired rules (``core.growth.early_warning.explain``)."""
    wanted = set(codes)
    v = values
    out = []
    for item in REASONS:
        if item.code not in wanted:
            continue
        if item.code in ("severe_wasting", "wasted"):
            severe = item.code == "severe_wasting"
            criteria = []
            if v.get("cat_bbtb") == (SEVERELY_WASTED if severe else WASTED):
                criteria.append("whz")
            if v.get("cat_lila") == (MUAC_SEVERE if severe else MUAC_MODERATE):
                criteria.append("muac")
            if severe and v.get("oedema"):
                criteria.append("oedema")
            numbers = {"criteria": criteria, "whz": _r2(v.get("whz")), "muac_cm": v.get("muac_cm"),
                       "measured_on": _date(v.get("measured_on"))}
            if severe:
                numbers["oedema"] = bool(v.get("oedema"))
        elif item.code in ("stunted_new", "stunted_known"):
            numbers = {"haz": _r2(v.get("haz")), "severe": v.get("cat_tbu") == SEVERELY_STUNTED,
                       "measured_on": _date(v.get("length_measured_on")),
                       "previous_haz": _r2(v.get("previous_haz")),
                       "previous_measured_on": _date(v.get("previous_measured_on"))}
        elif item.code == "underweight":
            numbers = {"waz": _r2(v.get("waz")), "severe": v.get("cat_bbu") == SEVERELY_UNDERWEIGHT,
                       "measured_on": _date(v.get("measured_on"))}
        elif item.code == "bgm":
            numbers = {"waz": _r2(v.get("waz")), "weight_kg": v.get("weight_kg"),
                       "measured_on": _date(v.get("measured_on"))}
        elif item.code == "two_t":
            numbers = {"weight_kg": v.get("weight_kg"), "gain_g": v.get("gain_g"), "kbm_g": v.get("kbm_g"),
                       "measured_on": _date(v.get("measured_on"))}
        elif item.code in ("not_weighed", "not_weighed_2m"):
            numbers = {"last_weighed_on": _date(v.get("last_weighed_on")),
                       "months_without_weighing": v.get("months_without_weighing")}
        else:  # early_warning
            numbers = {"rules": [f.get("rule") for f in early_warning or []]}
        entry = {"code": item.code, "label": item.label(language), "label_id": item.label_id,
                 "label_en": item.label_en, "refer": item.refer, "values": numbers}
        if item.code == "early_warning":
            entry["flags"] = list(early_warning or [])
        out.append(entry)
    return out
