"""Nutrition status of an area for a month (issue 8 §3), from the report summary.

* ``nutrition_counts(area, month, by="posyandu") -> (per_group, per_sex_age)``
    ``{area key at level by: {count: n}}`` and ``{(sex, age_group): {count: n}}`` for the month's records
    (``report_child_month``, one per child, the last valid weighing of the month) of children
    0-59 months: measured, per-category counts of BB/U, TB/U, BB/TB, IMT/U and LiLA, the
    anthro-style numerators and denominators of each prevalence, and the exclusions. Plus the
    target children (S) under ``"target"``. One GROUP BY GROUPING SETS over one index range,
    and one over the cohort query for S.
* ``nutrition_status(scope, area, month, by=None) -> dict``
    The headline numbers for the whole area: ``{"month", "area", "bulan_penimbangan", "target",
    "measured", "coverage_pct", "excluded", "prevalence": {indicator: {pct, ci_low, ci_high,
    cases, n}}}``.
* ``nutrition_document(scope, area, month, options) -> ReportDocument``  (report kind
    ``nutrition-status``, option ``by``): the tables ``summary`` (per area of the level below,
    posyandu rows with desa/puskesmas subtotals), ``by_sex_age`` (All, sex, age groups, baduta,
    balita, age + sex), ``categories`` and ``categories_by_sex_age`` (counts per Indonesian
    category), ``exclusions`` (why records were left out).

Prevalence follows WHO anthro's simple path (``core.prevalence.proportion``): a z flagged by WHO
is left out of its index (and counted as excluded), and so is a z computed from a weight or
length found implausible against the previous visit (docs/implausible-values.md); oedema counts as a case below -3 of
weight-for-height and weight-for-age (anthro's -3.1) and never as overweight; the 95% CI is
anthro's logit interval with ``N`` = all children measured in the report (anthro's N is the
whole data set, also for its subgroups). Age groups use the completed months at the visit.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from ..core import prevalence
from ..regions.models import Posyandu
from . import month_cache
from .areas import Area, Month, group_column
from .cohort import (breakdown_columns, breakdown_rows, grouping_sets, groups, latest_birth_for_age, month_children,
                     report_settings, resolve_by)
from .document import ROW_LEVEL, Column, ReportDocument, Table
from .models import ReportChildMonth
from .registry import register
from .subtotals import percent, posyandu_directory

S = ReportChildMonth.__table__
RULES_FILE = Path(__file__).resolve().parents[1] / "core" / "growth" / "data" / "rules_id.json"

#: (key, first month, last month, label id, label en): the report's age groups (reporting-id.md §2).
AGE_GROUPS = (("0_5", 0, 5, "0-5 bulan", "0-5 months"), ("6_11", 6, 11, "6-11 bulan", "6-11 months"),
              ("12_23", 12, 23, "12-23 bulan", "12-23 months"), ("24_59", 24, 59, "24-59 bulan", "24-59 months"))
#: Combined groups: baduta (under two) and balita (under five).
COMBINED_GROUPS = (("0_23", ("0_5", "6_11", "12_23"), "Baduta (0-23 bulan)", "Under two (0-23 months)"),
                   ("0_59", ("0_5", "6_11", "12_23", "24_59"), "Balita (0-59 bulan)", "Under five (0-59 months)"))
#: Months in which every balita is to be weighed and measured (reporting-id.md §4).
BULAN_PENIMBANGAN = (2, 8)

#: (key, label id, label en, denominator count, case count)
INDICATORS = (
    ("stunting", "Stunting (TB/U < -2)", "Stunting (HAZ < -2)", "n_ha", "ha_2"),
    ("severe_stunting", "Sangat pendek (TB/U < -3)", "Severe stunting (HAZ < -3)", "n_ha", "ha_3"),
    ("wasting", "Wasting (BB/TB < -2)", "Wasting (WHZ < -2)", "n_wh", "wh_2"),
    ("severe_wasting", "Wasting berat (BB/TB < -3)", "Severe wasting (WHZ < -3)", "n_wh", "wh_3"),
    ("underweight", "Underweight (BB/U < -2)", "Underweight (WAZ < -2)", "n_wa", "wa_2"),
    ("overweight", "Overweight (BB/TB > +2)", "Overweight (WHZ > +2)", "n_wh", "wh_p2"),
)
#: The indexes whose categories are counted: (key, summary column, rules section).
CATEGORY_INDEXES = (("bbu", "cat_bbu"), ("tbu", "cat_tbu"), ("bbtb", "cat_bbtb"), ("imtu", "cat_imtu"),
                    ("lila", "cat_lila"))
INDEX_NAMES = {"bbu": ("BB/U", "Weight-for-age"), "tbu": ("TB/U", "Length/height-for-age"),
               "bbtb": ("BB/TB", "Weight-for-length/height"), "imtu": ("IMT/U", "BMI-for-age"),
               "lila": ("LiLA", "MUAC")}
EXCLUSIONS = (
    ("excluded", "Dikeluarkan (nilai tidak masuk akal)", "Excluded (implausible value)"),
    ("flag_ha", "TB/U ditandai WHO", "HAZ flagged by WHO"),
    ("flag_wa", "BB/U ditandai WHO", "WAZ flagged by WHO"),
    ("flag_wh", "BB/TB ditandai WHO", "WHZ flagged by WHO"),
    ("flag_bmi", "IMT/U ditandai WHO", "BAZ flagged by WHO"),
    ("implausible_weight", "Berat tidak masuk akal (dibanding kunjungan lalu)",
     "Weight implausible (against the previous visit)"),
    ("implausible_length", "Panjang/tinggi tidak masuk akal (dibanding kunjungan lalu)",
     "Length/height implausible (against the previous visit)"),
    ("oedema", "Oedema (dihitung < -3 untuk BB/TB dan BB/U)", "Oedema (counted below -3 for WHZ and WAZ)"),
)


@lru_cache(maxsize=1)
def categories() -> dict[str, list[tuple[str, str, str]]]:
    """``{index: [(code, label id, label en), ...]}`` from the growth rule set (as stored)."""
    data = json.loads(RULES_FILE.read_text("utf-8"))
    out = {}
    for index, _column in CATEGORY_INDEXES:
        section = data["lila"] if index == "lila" else data["indices"][index]
        out[index] = [(c["code"], c.get("id") or c["code"], c.get("en") or c["code"]) for c in section["categories"]]
    return out


def category_key(code: str) -> str:
    return "cat_" + code.replace(".", "_")


def _count(condition):
    """``count(*) FILTER (WHERE condition)`` (PostgreSQL and SQLite >= 3.30): no CASE per row
    and aggregate (a month of a kabupaten is ~100 of them over 100,000 records)."""
    return sa.func.count().filter(condition)


def _age_group(age):
    return sa.case(*((age <= high, key) for key, _low, high, *_ in AGE_GROUPS))


def count_keys() -> tuple[str, ...]:
    """Every additive count of a row."""
    keys = ["target", "measured", "n_ha", "ha_2", "ha_3", "n_wa", "wa_2", "wa_3", "n_wh", "wh_2", "wh_3", "wh_p2"]
    keys += [k for k, *_ in EXCLUSIONS]
    keys += [category_key(code) for index, _ in CATEGORY_INDEXES for code, *_ in categories()[index]]
    return tuple(dict.fromkeys(keys))


def record_rows(where, *, name: str = "records", extra=()):
    """Subquery of the summary rows matching ``where`` with what the counts need, each row's
    standing on the three indexes worked out once: ``ha_class`` / ``wa_class`` / ``wh_class``
    NULL when the z does not count (absent, flagged by WHO, or computed from a weight or length
    found implausible against the previous visit: such a value decides nothing), 3 below -3, 2
    below -2, 9 above +2 (weight-for-height), else 0; oedema counts as 3 for weight-for-age and
    weight-for-height (anthro's -3.1). ``OFFSET 0`` keeps PostgreSQL from inlining the
    subquery, which would evaluate the tests again inside each count (measured: 140 -> 110 ms
    for a kabupaten month, 86,000 rows). ``extra``: more summary columns to carry."""
    s = S.c
    oedema, weight_bad, length_bad = s.oedema.is_(True), s.weight_implausible.is_(True), s.length_implausible.is_(True)
    ha = sa.case((sa.or_(s.zlen.is_(None), s.flen.is_(True), length_bad), sa.null()),
                 (s.zlen < -3, 3), (s.zlen < -2, 2), else_=0)
    wa = sa.case((oedema, 3), (sa.or_(s.zwei.is_(None), s.fwei.is_(True), weight_bad), sa.null()),
                 (s.zwei < -3, 3), (s.zwei < -2, 2), else_=0)
    wh = sa.case((oedema, 3), (sa.or_(s.zwfl.is_(None), s.fwfl.is_(True), weight_bad, length_bad), sa.null()),
                 (s.zwfl < -3, 3), (s.zwfl < -2, 2), (s.zwfl > 2, 9), else_=0)
    return (sa.select(s.month, s.posyandu_id, s.sex, _age_group(s.age_months).label("age_group"),
                      ha.label("ha_class"), wa.label("wa_class"), wh.label("wh_class"),
                      s.flen, s.fwei, s.fwfl, s.fbmi, s.weight_implausible, s.length_implausible, s.oedema,
                      *(s[column] for _index, column in CATEGORY_INDEXES), *extra)
            .where(where).offset(0).subquery(name))


def record_columns(r) -> list:
    """The labelled counts over ``r`` (a :func:`record_rows` subquery)."""
    c = r.c
    columns = [
        sa.func.count().label("measured"),
        sa.func.count(c.ha_class).label("n_ha"), _count(c.ha_class >= 2).label("ha_2"),
        _count(c.ha_class == 3).label("ha_3"),
        sa.func.count(c.wa_class).label("n_wa"), _count(c.wa_class >= 2).label("wa_2"),
        _count(c.wa_class == 3).label("wa_3"),
        sa.func.count(c.wh_class).label("n_wh"), _count(c.wh_class.between(2, 3)).label("wh_2"),
        _count(c.wh_class == 3).label("wh_3"), _count(c.wh_class == 9).label("wh_p2"),
        _count(sa.or_(c.flen.is_(True), c.fwei.is_(True), c.fwfl.is_(True), c.fbmi.is_(True),
                      c.weight_implausible.is_(True), c.length_implausible.is_(True))).label("excluded"),
        _count(c.flen.is_(True)).label("flag_ha"), _count(c.fwei.is_(True)).label("flag_wa"),
        _count(c.fwfl.is_(True)).label("flag_wh"), _count(c.fbmi.is_(True)).label("flag_bmi"),
        _count(c.weight_implausible.is_(True)).label("implausible_weight"),
        _count(c.length_implausible.is_(True)).label("implausible_length"),
        _count(c.oedema.is_(True)).label("oedema"),
    ]
    for index, column in CATEGORY_INDEXES:
        for code, *_ in categories()[index]:
            columns.append(_count(c[column] == code).label(category_key(code)))
    return columns


def month_records_where(area: Area, month: Month):
    """The summary rows of ``area`` in ``month`` for children 0-59 months at the visit (and at
    most 1826 days old, anthro's limit)."""
    return sa.and_(S.c.month == month.index, S.c.posyandu_id.in_(area.posyandu_ids()),
                   S.c.age_months >= 0, S.c.age_months <= 59,
                   sa.or_(S.c.age_days.is_(None), S.c.age_days <= prevalence.AGE_LIMIT_DAYS))


def nutrition_counts(area: Area, month: Month, by: str = "posyandu") -> tuple[dict, dict]:
    """``({group: {count: n}}, {(sex, age_group): {count: n}})`` (see module doc), S included,
    a group per area of level ``by`` (its key as ``areas.group_column`` gives it: the posyandu
    id, the puskesmas id, the undotted desa or kecamatan code). On PostgreSQL added up from the
    per-posyandu counts of ``reports.month_cache`` (recomputing the posyandu whose data changed),
    elsewhere :func:`direct_counts`."""
    keys = count_keys()
    if month_cache.usable(keys):
        return month_cache.counts(area, month, by, keys, posyandu_rows)
    return direct_counts(area, month, by)


def posyandu_rows(area, month: Month) -> dict:
    """``{(posyandu_id, sex, age_group): {count: n}}`` of ``area`` (anything with
    ``posyandu_ids()``) in ``month``, S included: what ``reports.month_cache`` stores."""
    per_group, _ = direct_counts(area, month, "posyandu", split=True)
    return per_group


def direct_counts(area: Area, month: Month, by: str = "posyandu", *, split: bool = False) -> tuple[dict, dict]:
    """:func:`nutrition_counts` from the summary rows: two statements (the month's records, the
    target children), each grouping by area and by sex and age group in one pass
    (``cohort.grouping_sets``). Grouping by the breakdown level in SQL, not by posyandu and then
    in Python, returns 18 rows for a kabupaten by kecamatan instead of 1,500. ``split``: one
    grouping by (area, sex, age group) instead (the first dict keyed by those triples)."""
    keys = count_keys()
    per_group: dict = {}
    per_sex_age: dict = {}

    def bucket(index, row):
        if split:
            return per_group.setdefault((row["area"], int(row["sex"]), row["age_group"]), dict.fromkeys(keys, 0))
        if index == 0:
            return per_group.setdefault(row["area"], dict.fromkeys(keys, 0))
        return per_sex_age.setdefault((int(row["sex"]), row["age_group"]), dict.fromkeys(keys, 0))

    def placed(posyandu_column, source):
        """(group expression, FROM clause): the posyandu itself, or its area of level ``by``."""
        if by == "posyandu":
            return posyandu_column, source
        return group_column(by, Posyandu), source.join(Posyandu, Posyandu.id == posyandu_column)

    sets = (("area", "sex", "age_group"),) if split else (("area",), ("sex", "age_group"))
    records = record_rows(month_records_where(area, month))
    counts = record_columns(records)
    group, source = placed(records.c.posyandu_id, records)
    for index, row in grouping_sets({"area": group, "sex": records.c.sex, "age_group": records.c.age_group},
                                    sets, counts, select_from=source):
        b = bucket(index, row)
        for column in counts:
            b[column.name] = int(row[column.name] or 0)
    # S: the target children, by their age at the month's end
    target = month_children(area, month, name="nutrition_target")
    end = month.last_day
    age = sa.case(*((target.c.birth_date > latest_birth_for_age(end, high + 1), key)
                    for key, _low, high, *_ in AGE_GROUPS), else_="24_59")
    group, source = placed(target.c.posyandu_id, target)
    for index, row in grouping_sets({"area": group, "sex": target.c.sex, "age_group": age},
                                    sets, [sa.func.count().label("n")], select_from=source):
        bucket(index, row)["target"] = int(row["n"])
    return per_group, per_sex_age


def _prevalence(k: int, n: int, N: int) -> tuple[float | None, float | None, float | None]:
    est = prevalence.proportion([k], [n], [N])

    def value(part):
        v = float(est[part][0])
        return None if np.isnan(v) else round(v, 2)
    return value("r"), value("ll"), value("ul")


def make_derive(N: int, deferred: list | None = None):
    """``derive(row)`` filling coverage and each prevalence with its CI (anthro's N = ``N``).
    With ``deferred``, the prevalences are left to :func:`fill_prevalence` (one vectorised call
    for all rows instead of one per row and indicator) and the row is appended to it."""
    def derive(row: dict) -> None:
        row["coverage_pct"] = percent(row.get("measured"), row.get("target"))
        for key, _lid, _len, n_key, k_key in INDICATORS:
            n, k = row.get(n_key) or 0, row.get(k_key) or 0
            row[f"{key}_n"], row[f"{key}_cases"] = n, k
            if deferred is None:
                row[f"{key}_pct"], row[f"{key}_ci_low"], row[f"{key}_ci_high"] = _prevalence(k, n, N)
        if deferred is not None:
            deferred.append(row)
    return derive


def fill_prevalence(rows: list[dict], N: int) -> None:
    """Each prevalence with its CI for ``rows`` derived with ``make_derive(N, deferred=rows)``:
    the same ``prevalence.proportion`` (elementwise) over all rows and indicators at once."""
    if not rows:
        return
    k = np.array([[row[f"{key}_cases"] for key, *_ in INDICATORS] for row in rows], dtype=float)
    n = np.array([[row[f"{key}_n"] for key, *_ in INDICATORS] for row in rows], dtype=float)
    est = prevalence.proportion(k, n, np.full(k.shape, N, dtype=float))
    values = {part: [[None if np.isnan(x) else round(float(x), 2) for x in line] for line in est[part]]
              for part in ("r", "ll", "ul")}  # as _prevalence: None where undefined, else 2 decimals
    for i, row in enumerate(rows):
        for j, (key, *_rest) in enumerate(INDICATORS):
            row[f"{key}_pct"], row[f"{key}_ci_low"], row[f"{key}_ci_high"] = (
                values["r"][i][j], values["ll"][i][j], values["ul"][i][j])


def summary_columns() -> list[Column]:
    columns = [Column("target", "Sasaran balita (S)", "Target children (S)", "int"),
               Column("measured", "Diukur", "Measured", "int"),
               Column("coverage_pct", "Cakupan pengukuran (%)", "Measurement coverage (%)", "pct"),
               Column("excluded", "Dikeluarkan (tidak masuk akal)", "Excluded (implausible)", "int")]
    for key, label_id, label_en, *_ in INDICATORS:
        columns += [Column(f"{key}_n", f"{label_id}: jumlah dinilai", f"{label_en}: assessed", "int"),
                    Column(f"{key}_cases", f"{label_id}: kasus", f"{label_en}: cases", "int"),
                    Column(f"{key}_pct", f"{label_id} (%)", f"{label_en} (%)", "pct", 2),
                    Column(f"{key}_ci_low", f"{label_id}: IK 95% bawah", f"{label_en}: 95% CI low", "pct", 2),
                    Column(f"{key}_ci_high", f"{label_id}: IK 95% atas", f"{label_en}: 95% CI high", "pct", 2)]
    return columns


def category_columns() -> list[Column]:
    columns = []
    for index, _ in CATEGORY_INDEXES:
        name_id, name_en = INDEX_NAMES[index]
        for code, label_id, label_en in categories()[index]:
            columns.append(Column(category_key(code), f"{name_id}: {label_id}", f"{name_en}: {label_en}", "int"))
    return columns


def exclusion_columns() -> list[Column]:
    return [Column("measured", "Diukur", "Measured", "int")] + [
        Column(k, label_id, label_en, "int") for k, label_id, label_en in EXCLUSIONS]


GROUP_COLUMNS = [Column("group", "Kelompok", "Group"), Column("sex", "Jenis kelamin (L/P)", "Sex (L/P)"),
                 Column("age_group", "Kelompok umur", "Age group")]


def _sum(counts: dict, keys, predicate) -> dict:
    out = dict.fromkeys(keys, 0)
    for (sex, age_group), values in counts.items():
        if predicate(sex, age_group):
            for k in keys:
                out[k] += values.get(k, 0) or 0
    return out


def sex_age_rows(counts: dict, derive, language_labels: bool = False) -> list[dict]:
    """All; per sex; per age group and baduta/balita; per age group and sex (``counts``:
    ``{(sex, age_group): {count: n}}``, a handful of rows)."""
    keys = count_keys()
    age_sets = [(key, (key,), lid, len_) for key, _lo, _hi, lid, len_ in AGE_GROUPS]
    age_sets += [(key, members, lid, len_) for key, members, lid, len_ in COMBINED_GROUPS]
    rows = []

    def add(group, sex, age_key, age_label, predicate):
        row = {"group": group, "sex": sex, "age_group": age_label, **_sum(counts, keys, predicate)}
        derive(row)
        row[ROW_LEVEL] = group
        rows.append(row)

    add("all", None, None, None, lambda s, a: True)
    for sex, letter in ((1, "L"), (2, "P")):
        add("sex", letter, None, None, lambda s, a, sex=sex: s == sex)
    for key, members, label_id, _ in age_sets:
        add("age", None, key, label_id, lambda s, a, members=members: a in members)
    for key, members, label_id, _ in age_sets:
        for sex, letter in ((1, "L"), (2, "P")):
            add("age_sex", letter, key, label_id, lambda s, a, members=members, sex=sex: s == sex and a in members)
    return rows


def nutrition_status(scope, area: Area, month: Month, by: str | None = None) -> dict:
    """The area's headline numbers (see module doc)."""
    _per_group, per_sex_age = nutrition_counts(area, month, area.level)
    totals = _sum(per_sex_age, count_keys(), lambda s, a: True)
    derive = make_derive(totals["measured"])
    derive(totals)
    return {
        "month": str(month), "area": area.as_dict(), "bulan_penimbangan": month.month in BULAN_PENIMBANGAN,
        "target": totals["target"], "measured": totals["measured"], "coverage_pct": totals["coverage_pct"],
        "excluded": totals["excluded"],
        "prevalence": {key: {"pct": totals[f"{key}_pct"], "ci_low": totals[f"{key}_ci_low"],
                             "ci_high": totals[f"{key}_ci_high"], "cases": totals[f"{key}_cases"],
                             "n": totals[f"{key}_n"]} for key, *_ in INDICATORS},
    }


def notes(month: Month) -> tuple[list[str], list[str]]:
    notes_id = ["Data administratif by-name (pencatatan posyandu): tidak dapat dibandingkan dengan estimasi "
                "survei (SSGI/SKI).",
                "Satu catatan per anak per bulan: penimbangan terakhir yang sah bulan ini. Prevalensi = kasus ÷ "
                "anak diukur dengan nilai sah (nilai yang ditandai WHO dikeluarkan dan dihitung); IK 95% "
                "menurut WHO anthro. Oedema dihitung < -3 untuk BB/TB dan BB/U. Cakupan = diukur ÷ S."]
    notes_en = ["Administrative by-name data (posyandu registers): not comparable to survey estimates (SSGI/SKI).",
                "One record per child per month: the month's last valid weighing. Prevalence = cases ÷ children "
                "measured with a valid value (values flagged by WHO are excluded and counted); 95% CI as WHO "
                "anthro. Oedema counts below -3 for WHZ and WAZ. Coverage = measured ÷ S."]
    if month.month in BULAN_PENIMBANGAN:
        notes_id.append("Bulan ini adalah bulan penimbangan balita (Februari/Agustus): semua balita ditimbang "
                        "dan diukur panjang/tingginya.")
        notes_en.append("This month is a bulan penimbangan (February/August weighing month): every child under "
                        "five is to be weighed and measured.")
    return notes_id, notes_en


@register("nutrition-status", title_id="Status gizi balita", title_en="Nutrition status of children under five",
          options=("by",),
          description_en="Counts per category (BB/U, TB/U, BB/TB, IMT/U, LiLA) and the prevalence of stunting, "
                         "wasting, underweight and overweight with WHO anthro's 95% CI, by area, sex and age group.")
def nutrition_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    by = resolve_by(area, options.get("by"))
    report_settings(parallel=True)
    directory = posyandu_directory(area)
    group_list = groups(area, by, directory)
    keys = count_keys()
    by_group, per_sex_age = nutrition_counts(area, month, by)
    N = sum(v.get("measured", 0) for v in per_sex_age.values())
    derived: list = []
    derive = make_derive(N, derived)
    label_columns = breakdown_columns(by)
    notes_id, notes_en = notes(month)

    rows = list(breakdown_rows(area, by, group_list, by_group, sum_keys=keys, derive=derive))
    sex_age = sex_age_rows(per_sex_age, derive)
    fill_prevalence(derived, N)

    def breakdown():  # the same rows in three tables: derived once (CIs), a copy for each
        return [dict(r) for r in rows]
    tables = [
        Table("summary", "Ringkasan", "Summary", label_columns + summary_columns(), breakdown(),
              notes_id=notes_id, notes_en=notes_en),
        Table("by_sex_age", "Menurut jenis kelamin & umur", "By sex and age group", GROUP_COLUMNS + summary_columns(),
              [dict(r) for r in sex_age]),
        Table("categories", "Kategori status gizi", "Nutrition status categories",
              label_columns + [Column("measured", "Diukur", "Measured", "int")] + category_columns(), breakdown()),
        Table("categories_by_sex_age", "Kategori menurut kelompok", "Categories by sex and age",
              GROUP_COLUMNS + [Column("measured", "Diukur", "Measured", "int")] + category_columns(),
              sex_age),
        Table("exclusions", "Dikeluarkan", "Exclusions", label_columns + exclusion_columns(), breakdown(),
              notes_id=["Nilai yang ditandai WHO (z di luar batas masuk akal) dikeluarkan dari indeksnya; nilai "
                        "yang tidak masuk akal dibanding kunjungan lalu tidak menentukan kategori."],
              notes_en=["Values flagged by WHO (z outside the plausible range) are left out of their index; values "
                        "implausible against the previous visit decide no category."]),
    ]
    return ReportDocument(kind="nutrition-status", title_id="Status gizi balita",
                          title_en="Nutrition status of children under five", area=area.as_dict(),
                          period=str(month), tables=tables)
