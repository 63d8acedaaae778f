"""Vitamin A and exclusive breastfeeding coverage from the flags stored with each measurement.

For an area and a month, per area of the level below (posyandu rows with desa and puskesmas
subtotals) and per sex; rules (age bands, campaign months, the "lulus ASI eksklusif" decision)
in ``data/coverage-rules-id.json``:

- **Vitamin A** (reporting-id.md §2 item 4): registered children (:mod:`.cohort`) aged 6–11
  months (blue capsule) and 12–59 months (red capsule) at the month's end, and those of them
  with ``vitamin_a = true`` on any measurement of the month; coverage = given ÷ registered.
  Capsules are given in February and August; other months say so in a note.
- **Exclusive breastfeeding** (item 5): infants whose last answer of the month was given at 0–5
  completed months (age at that visit): asked, exclusively breastfed, share = yes ÷ asked. And
  *lulus ASI eksklusif*: registered children who turned 6 months this month, and those of them
  whose every answer at 0–5 months was yes, with an answer at 5 months.

Each table is one SQL statement grouped by area (and one by sex); measurements are read for the
month only (``ix_measurement_child_date``), except the 0–5-month history of the few children
turning 6.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from ..extensions import db
from ..measurements.models import Measurement
from .areas import Area, Month
from .cohort import (age_in_months_between, breakdown_columns, breakdown_rows, group_keys, groups,
                     latest_birth_for_age, latest_measurements, month_children, report_settings, resolve_by,
                     roll_up, roll_up_by)
from .subtotals import posyandu_directory
from .document import ROW_LEVEL, Column, ReportDocument, Table
from .registry import register
from .subtotals import percent

RULES_FILE = Path(__file__).resolve().parent / "data" / "coverage-rules-id.json"
M = Measurement


@lru_cache(maxsize=1)
def coverage_rules() -> dict:
    """The coverage rule file (age bands, thresholds, decisions), parsed once."""
    return json.loads(RULES_FILE.read_text("utf-8"))


def _count(condition):
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _sex_rows(counts: dict, sum_keys, derive) -> list[dict]:
    rows = []
    total = dict.fromkeys(sum_keys, 0)
    for sex, letter in ((1, "L"), (2, "P")):
        row = {"sex": letter, **dict.fromkeys(sum_keys, 0)}
        row.update(counts.get(sex, {}))
        for k in sum_keys:
            total[k] += row[k] or 0
        derive(row)
        row[ROW_LEVEL] = "sex"
        rows.append(row)
    total[ROW_LEVEL] = "total"
    derive(total)
    rows.append(total)
    return rows


SEX_COLUMNS = [Column("sex", "Jenis kelamin (L/P)", "Sex (L = male, P = female)")]


def _grouped(query_columns, registered, joins) -> dict:
    """Run one count query grouped by posyandu and sex: ``{(posyandu_id, sex): {column: n}}``."""
    query = sa.select(registered.c.posyandu_id, registered.c.sex, *query_columns).select_from(registered)
    for target, on in joins:
        query = query.outerjoin(target, on)
    out = {}
    for row in db.session.execute(query.group_by(registered.c.posyandu_id, registered.c.sex)).mappings():
        out[(row["posyandu_id"], row["sex"])] = {k: int(v or 0) for k, v in row.items()
                                                 if k not in ("posyandu_id", "sex")}
    return out


# ---------------------------------------------------------------------------------------------
# vitamin A
# ---------------------------------------------------------------------------------------------
def vitamin_a_columns() -> list[Column]:
    columns = []
    for band in coverage_rules()["vitamin_a"]["bands"] + [{"key": "6_59", "label_id": "6-59 bulan",
                                                          "label_en": "6-59 months"}]:
        k = band["key"]
        columns += [
            Column(f"registered_{k}", f"Sasaran {band['label_id']}", f"Registered {band['label_en']}", "int"),
            Column(f"given_{k}", f"Dapat vitamin A {band['label_id']}", f"Given vitamin A {band['label_en']}", "int"),
            Column(f"pct_{k}", f"Cakupan vitamin A {band['label_id']} (%)",
                   f"Vitamin A coverage {band['label_en']} (%)", "pct"),
        ]
    return columns


VITAMIN_A_SUMS = ("registered_6_11", "given_6_11", "registered_12_59", "given_12_59")


def _derive_vitamin_a(row: dict) -> None:
    row["registered_6_59"] = (row.get("registered_6_11") or 0) + (row.get("registered_12_59") or 0)
    row["given_6_59"] = (row.get("given_6_11") or 0) + (row.get("given_12_59") or 0)
    for k in ("6_11", "12_59", "6_59"):
        row[f"pct_{k}"] = percent(row.get(f"given_{k}"), row.get(f"registered_{k}"))


def _vitamin_a_counts(area: Area, month: Month) -> dict:
    """``{(posyandu_id, sex): {registered_6_11, given_6_11, registered_12_59, given_12_59}}``."""
    registered = month_children(area, month, name="registered_vita")
    given = (sa.select(M.child_id, sa.func.max(sa.case((M.vitamin_a.is_(True), 1), else_=0)).label("vita"))
             .where(M.measured_on >= month.first_day, M.measured_on <= month.last_day, M.deleted_at.is_(None),
                    M.child_id.in_(sa.select(registered.c.child_id)))
             .group_by(M.child_id).subquery("vita_given"))
    end = month.last_day
    columns = []
    for band in coverage_rules()["vitamin_a"]["bands"]:
        in_band = age_in_months_between(registered.c.birth_date, end, band["min"], band["max"])
        columns.append(_count(in_band).label(f"registered_{band['key']}"))
        columns.append(_count(sa.and_(in_band, given.c.vita == 1)).label(f"given_{band['key']}"))
    return _grouped(columns, registered, [(given, given.c.child_id == registered.c.child_id)])


# ---------------------------------------------------------------------------------------------
# exclusive breastfeeding
# ---------------------------------------------------------------------------------------------
EBF_SUMS = ("registered_0_5", "asked", "exclusive", "turned_6", "graduated")


def ebf_columns() -> list[Column]:
    return [
        Column("registered_0_5", "Sasaran bayi 0-5 bulan", "Registered infants 0-5 months", "int"),
        Column("asked", "Bayi 0-5 bulan ditanya ASI eksklusif", "Infants 0-5 months asked", "int"),
        Column("exclusive", "Bayi 0-5 bulan ASI eksklusif", "Infants 0-5 months exclusively breastfed", "int"),
        Column("exclusive_pct", "ASI eksklusif 0-5 bulan (%)", "Exclusive breastfeeding 0-5 months (%)", "pct"),
        Column("turned_6", "Bayi genap 6 bulan bulan ini", "Infants turning 6 months this month", "int"),
        Column("graduated", "Lulus ASI eksklusif", "Exclusively breastfed to 6 months", "int"),
        Column("graduated_pct", "Lulus ASI eksklusif (%)", "Exclusively breastfed to 6 months (%)", "pct"),
    ]


def _derive_ebf(row: dict) -> None:
    row["exclusive_pct"] = percent(row.get("exclusive"), row.get("asked"))
    row["graduated_pct"] = percent(row.get("graduated"), row.get("turned_6"))


def _ebf_counts(area: Area, month: Month) -> dict:
    """``{(posyandu_id, sex): {registered_0_5, asked, exclusive, turned_6, graduated}}``."""
    rules = coverage_rules()["exclusive_breastfeeding"]
    max_age = rules["max_age_months"]
    turn = rules["graduation_age_months"]
    answer_at = rules["graduation_requires_answer_at_months"]
    end = month.last_day
    registered = month_children(area, month, name="registered_ebf")
    registered_ids = sa.select(registered.c.child_id)
    last_answer = latest_measurements(
        lambda m: sa.and_(m.measured_on >= month.first_day, m.measured_on <= end, m.deleted_at.is_(None),
                          m.exclusive_breastfeeding.is_not(None), m.age_months >= 0, m.age_months <= max_age,
                          m.child_id.in_(registered_ids)),
        lambda m: (m.measured_on, m.created_at, m.id),
        lambda m: (m.child_id, m.exclusive_breastfeeding), "ebf_last")
    turned = sa.and_(registered.c.birth_date <= latest_birth_for_age(end, turn),
                     registered.c.birth_date > latest_birth_for_age(month.shift(-1).last_day, turn))
    history = (sa.select(M.child_id,
                         _count(M.exclusive_breastfeeding.is_(False)).label("no_answers"),
                         sa.func.max(sa.case((sa.and_(M.exclusive_breastfeeding.is_(True), M.age_months == answer_at),
                                              1), else_=0)).label("yes_at"))
               .where(M.deleted_at.is_(None), M.exclusive_breastfeeding.is_not(None), M.age_months >= 0,
                      M.age_months <= max_age, M.measured_on <= end,
                      M.child_id.in_(sa.select(registered.c.child_id).where(turned)))
               .group_by(M.child_id).subquery("ebf_history"))
    columns = [
        _count(age_in_months_between(registered.c.birth_date, end, 0, max_age)).label("registered_0_5"),
        _count(last_answer.c.child_id.is_not(None)).label("asked"),
        _count(last_answer.c.exclusive_breastfeeding.is_(True)).label("exclusive"),
        _count(turned).label("turned_6"),
        _count(sa.and_(turned, history.c.no_answers == 0, history.c.yes_at == 1)).label("graduated"),
    ]
    return _grouped(columns, registered,
                    [(last_answer, last_answer.c.child_id == registered.c.child_id),
                     (history, history.c.child_id == registered.c.child_id)])


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
@register("vitamin-a-breastfeeding", title_id="Cakupan vitamin A dan ASI eksklusif",
          title_en="Vitamin A and exclusive breastfeeding coverage", options=("by",),
          description_en="Vitamin A capsules (6-11 and 12-59 months) and exclusive breastfeeding (0-5 months, "
                         "and to 6 months) from the flags stored with each measurement.")
def vitamin_a_breastfeeding_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    by = resolve_by(area, options.get("by"))
    report_settings()
    directory = posyandu_directory(area)
    group_list = groups(area, by, directory)
    label_columns = breakdown_columns(by)
    keys = group_keys(directory, by)
    vita_counts = _vitamin_a_counts(area, month)
    ebf_counts = _ebf_counts(area, month)
    vita, vita_sex = roll_up(vita_counts, keys, VITAMIN_A_SUMS), roll_up_by(vita_counts, 1, VITAMIN_A_SUMS)
    ebf, ebf_sex = roll_up(ebf_counts, keys, EBF_SUMS), roll_up_by(ebf_counts, 1, EBF_SUMS)
    rules = coverage_rules()
    notes_id = ["Umur = bulan penuh pada akhir bulan. Vitamin A tercatat bila ada pengukuran bulan ini "
                "dengan vitamin A = ya."]
    notes_en = ["Age = completed months at the month's end. Vitamin A counts when a measurement of the month "
                "records vitamin A = yes."]
    if month.month not in rules["vitamin_a"]["campaign_months"]:
        notes_id.append("Bukan bulan vitamin A (Februari/Agustus): cakupan bulan ini biasanya rendah.")
        notes_en.append("Not a vitamin A month (February/August): coverage this month is normally low.")
    ebf_notes_id = ["ASI eksklusif: jawaban terakhir bulan ini yang dicatat pada umur 0-5 bulan. Lulus ASI "
                    "eksklusif: genap 6 bulan bulan ini, semua jawaban umur 0-5 bulan 'ya' dan ada jawaban "
                    "pada umur 5 bulan."]
    ebf_notes_en = ["Exclusive breastfeeding: the month's last answer recorded at 0-5 months of age. To 6 months: "
                    "turned 6 months this month, every answer at 0-5 months 'yes', with an answer at 5 months."]
    tables = [
        Table("vitamin_a", "Vitamin A", "Vitamin A", label_columns + vitamin_a_columns(),
              list(breakdown_rows(area, by, group_list, vita, sum_keys=VITAMIN_A_SUMS, derive=_derive_vitamin_a)),
              notes_id=notes_id, notes_en=notes_en),
        Table("exclusive_breastfeeding", "ASI eksklusif", "Exclusive breastfeeding", label_columns + ebf_columns(),
              list(breakdown_rows(area, by, group_list, ebf, sum_keys=EBF_SUMS, derive=_derive_ebf)),
              notes_id=ebf_notes_id, notes_en=ebf_notes_en),
        Table("by_sex", "Menurut jenis kelamin", "By sex", SEX_COLUMNS + vitamin_a_columns() + ebf_columns(),
              _merge_sex(vita_sex, ebf_sex)),
    ]
    return ReportDocument(kind="vitamin-a-breastfeeding", title_id="Cakupan vitamin A dan ASI eksklusif",
                          title_en="Vitamin A and exclusive breastfeeding coverage", area=area.as_dict(),
                          period=str(month), tables=tables)


def _merge_sex(vita: dict, ebf: dict) -> list[dict]:
    merged = {sex: {**vita.get(sex, {}), **ebf.get(sex, {})} for sex in (1, 2)}

    def derive(row):
        _derive_vitamin_a(row)
        _derive_ebf(row)
    return _sex_rows(merged, VITAMIN_A_SUMS + EBF_SUMS, derive)
