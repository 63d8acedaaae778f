"""A report as a document: header block + named tables, independent of the output format.

Every report (nutrition status, SKDN, immunization coverage, trend, follow-up lists, e-PPGBM
export, data quality, ...) builds a :class:`ReportDocument`; the JSON answer, the ``.xlsx``
workbook and the CSV file are renderings of the same document, so the numbers in the Excel file
are the numbers of the API by construction.

Labels are bilingual (``id`` first, ``en``); :meth:`Column.label` picks one. Rows are plain
dicts keyed by column key (numbers as numbers, dates as ``date``); ``rows`` may be any iterable
(a generator for by-name exports, so a whole kabupaten streams with bounded memory). A row may
carry ``ROW_LEVEL`` (e.g. ``"posyandu"``, ``"desa"``, ``"puskesmas"``, ``"total"``) so a
renderer can style subtotal rows.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable

#: Row key marking what a row is (a posyandu row, a desa or puskesmas subtotal, the total).
ROW_LEVEL = "_level"

#: Column kinds: how a value is written (``pct`` is a percentage 0-100, written with 1 decimal).
KINDS = ("text", "int", "float", "pct", "date", "bool")


@dataclass(frozen=True)
class Column:
    key: str
    label_id: str
    label_en: str
    kind: str = "text"
    #: Decimal places shown for float/pct columns in spreadsheets.
    decimals: int | None = None

    def label(self, language: str = "id") -> str:
        return self.label_en if language == "en" else self.label_id


@dataclass
class Table:
    key: str                      # machine name; also the JSON key
    title_id: str                 # sheet name / heading (Bahasa Indonesia, at most 31 chars for Excel)
    title_en: str
    columns: list[Column]
    rows: Iterable[dict[str, Any]] = field(default_factory=list)
    notes_id: list[str] = field(default_factory=list)
    notes_en: list[str] = field(default_factory=list)

    def title(self, language: str = "id") -> str:
        return self.title_en if language == "en" else self.title_id

    def notes(self, language: str = "id") -> list[str]:
        return self.notes_en if language == "en" else self.notes_id


@dataclass
class ReportDocument:
    kind: str                     # e.g. "nutrition-status", "skdn", "immunization-coverage"
    title_id: str
    title_en: str
    area: dict                    # Area.as_dict(): level, code, name
    period: str                   # "2026-11" or "2025-12..2026-11"
    tables: list[Table]
    generated_at: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))
    data_source_id: str = ("Data administratif by-name PosyanduGo (pencatatan posyandu), "
                           "tidak dapat dibandingkan dengan survei (SSGI/SKI).")
    data_source_en: str = ("PosyanduGo administrative by-name records (posyandu registers), "
                           "not comparable to survey estimates (SSGI/SKI).")

    def title(self, language: str = "id") -> str:
        return self.title_en if language == "en" else self.title_id

    def data_source(self, language: str = "id") -> str:
        return self.data_source_en if language == "en" else self.data_source_id

    def header_block(self, language: str = "id") -> list[tuple[str, str]]:
        """The lines above every sheet: area, period, generated at, data source."""
        en = language == "en"
        level = self.area.get("level", "")
        return [
            ("Report" if en else "Laporan", self.title(language)),
            ("Area" if en else "Wilayah", f"{level} {self.area.get('code', '')} — {self.area.get('name', '')}".strip()),
            ("Period" if en else "Periode", self.period),
            ("Generated at" if en else "Dibuat pada", self.generated_at.isoformat(timespec="seconds")),
            ("Data source" if en else "Sumber data", self.data_source(language)),
        ]
