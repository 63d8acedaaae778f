"""The data-quality report as a :class:`~posyandu.reports.document.ReportDocument`, and its
``.xlsx`` rendering.

The workbook holds the numbers of the JSON answer (same :class:`QualityReport`): one sheet per
posyandu, one per cadre (the area total on top of each, then the groups in the order a
supervisor should visit them), and a sheet explaining the checks. It is rendered by the shared
report renderer (``posyandu/reports/export.py``), and registered as the download kind
``data-quality`` so that ``/reports/data-quality.xlsx|csv|zip`` and ``flask reports
data-quality`` give the same file for one month.
"""
from __future__ import annotations

import math

from ..core import quality as cq
from ..core import register_checks as rc
from ..reports.document import ROW_LEVEL, Column, ReportDocument, Table
from ..reports.registry import register
from .operations import GroupResult, QualityReport, size_note

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_CHECK_SHORT = {
    "flagged": ("Flag BB/TB %", "WHZ flagged %"),
    "sd": ("SD BB/TB", "SD of WHZ"),
    "skewness": ("Skewness BB/TB", "Skewness of WHZ"),
    "kurtosis": ("Kurtosis BB/TB", "Kurtosis of WHZ"),
    "dps_weight": ("DPS berat", "DPS weight"),
    "dps_height": ("DPS panjang/tinggi", "DPS length/height"),
    "age_ratio": ("Uji rasio umur (p)", "Age ratio test (p)"),
    "sex_ratio": ("Uji rasio jenis kelamin (p)", "Sex ratio test (p)"),
}
_REGISTER_SHORT = {
    "length_shrank": ("Panjang berkurang", "Length shrank"),
    "weight_repeated": ("BB sama dgn bulan lalu", "Weight = last month"),
    "measure_missing": ("Cara ukur kosong", "Position missing"),
    "implausible_entered": ("Nilai tak wajar disimpan", "Implausible saved"),
    "late_entry": ("Dicatat terlambat", "Entered late"),
}


def _columns(grouping: str) -> list[Column]:
    cols = [Column("rank", "Urutan", "Rank", "int")]
    if grouping == "posyandu":
        cols += [Column("code", "Kode", "Code"), Column("name", "Posyandu", "Posyandu")]
    else:
        cols += [Column("name", "Kader / petugas", "Cadre / staff"), Column("role", "Peran", "Role")]
    cols += [
        Column("visits", "Kunjungan", "Visits", "int"),
        Column("children", "Anak", "Children", "int"),
        Column("whz_n", "n (BB/TB)", "n (WHZ)", "int"),
        Column("score", "Skor SMART", "SMART score", "int"),
        Column("quality", "Kualitas", "Quality"),
        Column("points_judged", "Poin (data cukup)", "Points (enough data)", "int"),
        Column("too_small", "Data terlalu sedikit", "Too few rows", "bool"),
    ]
    for key in cq.CHECKS:
        sid, sen = _CHECK_SHORT[key]
        if key == "flagged":
            kind, decimals = "pct", 1
        else:
            kind, decimals = "float", 3 if key in ("age_ratio", "sex_ratio") else 2
        cols.append(Column(f"{key}_value", sid, sen, kind, decimals))
        if key in ("age_ratio", "sex_ratio"):
            cols.append(Column(f"{key}_ratio", f"{sid[:-4]} rasio", f"{sen[:-4]} ratio", "float", 2))
        cols.append(Column(f"{key}_class", f"{sid}: kelas", f"{sen}: class"))
        cols.append(Column(f"{key}_n", f"{sid}: n", f"{sen}: n", "int"))
    for key in rc.REGISTER_CHECKS:
        sid, sen = _REGISTER_SHORT[key]
        cols.append(Column(f"{key}_pct", f"{sid} %", f"{sen} %", "pct", 1))
        cols.append(Column(f"{key}_count", f"{sid}: jumlah", f"{sen}: count", "int"))
        cols.append(Column(f"{key}_n", f"{sid}: n", f"{sen}: n", "int"))
    cols.append(Column("size_note", "Catatan jumlah data", "Note on group size"))
    return cols


def _finite(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def _row(g: GroupResult, language: str, rank: int | None) -> dict:
    lang = 1 if language == "en" else 0
    q = g.quality
    row = {"rank": rank, "code": g.key.get("code"), "name": g.key.get("name"),
           "role": g.key.get("role"), "visits": g.visits, "children": g.children,
           "whz_n": q.whz_n, "score": q.score,
           "quality": cq.CLASS_LABELS[q.quality][lang] if q.quality else None,
           "points_judged": q.points_judged,
           "too_small": bool(q.too_small) or any(not r.enough_data for r in g.register.values()),
           "size_note": size_note(g, language)}
    for key, c in q.checks.items():
        row[f"{key}_value"] = _finite(c.value)
        row[f"{key}_ratio"] = _finite(c.ratio)
        row[f"{key}_class"] = cq.CLASS_LABELS[c.quality_class][lang] if c.quality_class else None
        row[f"{key}_n"] = c.n
    for key, r in g.register.items():
        row[f"{key}_pct"] = r.pct
        row[f"{key}_count"] = r.count
        row[f"{key}_n"] = r.n
    return row


def _notes(language: str) -> list[str]:
    s = cq.default_settings()
    if language == "en":
        return [
            "Sorted: the penalty points of the SMART checks with enough data first, then the "
            "highest rate of register problems, then the number of visits.",
            f"Too few rows to judge: flagged % n < {s.min_n['flagged']}, SD n < {s.min_n['sd']}, "
            f"skewness n < {s.min_n['skewness']}, kurtosis n < {s.min_n['kurtosis']}, digit "
            f"preference n < {s.min_n['dps']}, age/sex ratio expected counts < "
            f"{s.ratio_expected_count:g}, register checks n < {s.register_min_n}.",
            "Over several months every visit counts (a child weighed monthly counts each month).",
        ]
    return [
        "Urutan: poin penalti SMART dari pemeriksaan dengan data cukup, lalu persentase masalah "
        "register tertinggi, lalu jumlah kunjungan.",
        f"Data terlalu sedikit untuk dinilai: flag n < {s.min_n['flagged']}, SD n < "
        f"{s.min_n['sd']}, skewness n < {s.min_n['skewness']}, kurtosis n < "
        f"{s.min_n['kurtosis']}, preferensi angka n < {s.min_n['dps']}, uji rasio umur/jenis "
        f"kelamin bila jumlah harapan < {s.ratio_expected_count:g}, pemeriksaan register n < "
        f"{s.register_min_n}.",
        "Untuk beberapa bulan setiap kunjungan dihitung (anak yang ditimbang tiap bulan dihitung "
        "tiap bulan).",
    ]


def _explanations(language: str) -> Table:
    en = language == "en"
    cols = [Column("check", "Pemeriksaan", "Check"), Column("meaning", "Artinya", "What it means")]
    rows = [{"check": cq.CHECK_LABELS[k][1 if en else 0], "meaning": _MEANING[k][1 if en else 0]}
            for k in cq.CHECKS]
    rows += [{"check": rc.REGISTER_LABELS[k][1 if en else 0], "meaning": _MEANING[k][1 if en else 0]}
             for k in rc.REGISTER_CHECKS]
    return Table("explanations", "Keterangan", "Explanations", cols, rows)


_MEANING = {
    "flagged": ("Persen BB/TB di luar batas WHO (tidak mungkin): salah timbang, salah ukur, "
                "salah ketik.",
                "Share of WHZ beyond WHO's plausible limits: weighing, measuring or typing errors."),
    "sd": ("Sebaran BB/TB; terlalu lebar berarti pengukuran tidak teliti (alat atau cara).",
           "Spread of WHZ; too wide means imprecise measurement (equipment or technique)."),
    "skewness": ("Kemencengan sebaran BB/TB; jauh dari 0 berarti kesalahan ke satu arah.",
                 "Asymmetry of WHZ; far from 0 suggests errors in one direction."),
    "kurtosis": ("Keruncingan sebaran BB/TB; jauh dari 0 berarti ekor terlalu tebal/tipis.",
                 "Peakedness of WHZ; far from 0 means tails too heavy or too light."),
    "dps_weight": ("Angka desimal terakhir berat badan tidak merata: pembulatan (mis. ke 0,5 kg).",
                   "Final decimal of weights not evenly spread: rounding (e.g. to 0.5 kg)."),
    "dps_height": ("Angka desimal terakhir panjang/tinggi tidak merata: pembulatan ke cm atau "
                   "0,5 cm.",
                   "Final decimal of lengths not evenly spread: rounding to the cm or 0.5 cm."),
    "age_ratio": ("Anak 6-29 bulan dibanding 30-59 bulan menyimpang dari 0,85: umur salah atau "
                  "anak besar tidak datang.",
                  "Children 6-29 vs 30-59 months departs from 0.85: wrong ages, or older "
                  "children not coming."),
    "sex_ratio": ("Laki-laki dibanding perempuan menyimpang dari 1: anak tidak terdaftar atau "
                  "jenis kelamin salah.",
                  "Boys vs girls departs from 1: children missing from the register, or sex "
                  "entered wrongly."),
    "length_shrank": ("Panjang/tinggi lebih pendek dari kunjungan lalu melebihi toleransi: salah "
                      "ukur atau salah cara ukur.",
                      "Shorter than at the last visit beyond the tolerance: measuring error or "
                      "position."),
    "weight_repeated": ("Berat sama persis dengan bulan lalu: bisa wajar, tetapi bila sangat "
                        "sering berarti disalin.",
                        "Same weight as last month: can be real, but a high rate suggests "
                        "copying."),
    "measure_missing": ("Cara ukur telentang/berdiri tidak diisi; z-score bisa salah 0,7 cm.",
                        "Lying/standing not recorded; z-scores can be 0.7 cm off."),
    "implausible_entered": ("Nilai di luar batas WHO tetap disimpan, tidak diukur ulang.",
                            "A value beyond WHO's limits was saved instead of measured again."),
    "late_entry": ("Dicatat lama setelah hari posyandu: dicatat dari kertas atau HP jarang "
                   "sinkron.",
                   "Entered long after the session: copied from paper, or a phone that rarely "
                   "syncs."),
}


def report_document(report: QualityReport, language: str = "id") -> ReportDocument:
    tables = []
    for grouping, (tid, ten) in (("posyandu", ("Per posyandu", "By posyandu")),
                                 ("cadre", ("Per kader", "By cadre"))):
        if grouping not in report.groups:
            continue
        total = dict(_row(report.total, language, None), **{ROW_LEVEL: "total"})
        rows = [total] + [dict(_row(g, language, i), **{ROW_LEVEL: grouping})
                          for i, g in enumerate(report.groups[grouping], start=1)]
        tables.append(Table(grouping, tid, ten, _columns(grouping), rows,
                            notes_id=_notes("id"), notes_en=_notes("en")))
    tables.append(_explanations(language))
    return ReportDocument(kind="data-quality", title_id="Kualitas data antropometri",
                          title_en="Anthropometric data quality", area=report.area.as_dict(),
                          period=report.period.text, tables=tables)


# --------------------------------------------------------------------------- downloads
def write_workbook(doc: ReportDocument, target, language: str = "id") -> None:
    """The workbook through the shared renderer (numbers as numbers, frozen header row)."""
    from ..reports.export import write_xlsx

    write_xlsx(doc, target, language=language, constant_memory=False)


@register("data-quality", title_id="Kualitas data antropometri", title_en="Anthropometric data quality",
          options=("lang",), description_en="SMART plausibility scores and register checks per posyandu and cadre.")
def data_quality_document(scope, area, month, options) -> ReportDocument:
    """One month of the data-quality report (ranges of months: ``/quality/report.xlsx``)."""
    from .operations import quality_report

    report = quality_report(scope, {"level": area.level, "code": area.code, "month": str(month)})
    return report_document(report, options.get("lang", "id"))
