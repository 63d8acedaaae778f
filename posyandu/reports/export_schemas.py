"""Schemas at the edge of the coverage reports and the downloads (query arguments, the JSON
rendering of a report document)."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .areas import AREA_LEVELS, MONTH_PATTERN

BREAKDOWN_LEVELS = ("kecamatan", "puskesmas", "desa", "posyandu")


class ReportArgs(ma.Schema):
    level = fields.String(validate=validate.OneOf(AREA_LEVELS), metadata={
        "description": "Area level; with `code`. Without both: your own area (dinkes: your kabupaten; "
                       "puskesmas staff: your puskesmas; a kader of one posyandu: it)."})
    code = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "Area code: a Kemendagri code dotted or undotted (`35.25`, `3525012001`) for "
                       "kabupaten, kecamatan and desa; the registry code for puskesmas and posyandu."})
    month = fields.String(metadata={"description": "`YYYY-MM`; default: this month. A future month is a 422.",
                                    "example": "2026-11", "pattern": MONTH_PATTERN})
    by = fields.String(validate=validate.OneOf(BREAKDOWN_LEVELS), metadata={
        "description": "Breakdown level below the area (default: the first level below; posyandu rows "
                       "carry desa and puskesmas subtotals)."})
    lang = fields.String(validate=validate.OneOf(("id", "en")), metadata={
        "description": "Labels: `id` (Bahasa Indonesia) or `en`; default: your account's language, then "
                       "Accept-Language, then `id`."})

    @ma.validates_schema
    def _level_and_code(self, data, **kwargs):
        if ("level" in data) != ("code" in data):
            missing = "code" if "level" in data else "level"
            raise ma.ValidationError("Give level and code together (or neither, for your own area).", missing)


class ImmunizationCoverageArgs(ReportArgs):
    uci_threshold = fields.Float(validate=validate.Range(min=0, max=100, min_inclusive=False), metadata={
        "description": "UCI threshold in percent (default 80, an unverified programme value)."})


class DownloadArgs(ReportArgs):
    """The common arguments; any other query parameter is passed to the report as an option
    (e.g. `uci_threshold`, `nik`, `include`); one the report does not take is a 422."""

    class Meta:
        unknown = ma.INCLUDE

    table = fields.String(validate=validate.Length(max=60), metadata={
        "description": "`.csv` only: the table to download when the report has several (see `/reports/downloads`)."})
    delimiter = fields.String(validate=validate.OneOf(("comma", "semicolon")), load_default="comma", metadata={
        "description": "CSV field separator: `comma` (RFC 4180, default) or `semicolon`."})
    uci_threshold = fields.String(metadata={"description": "immunization-coverage: UCI threshold in percent."})
    nik = fields.String(validate=validate.OneOf(("clear", "masked")), metadata={
        "description": "eppgbm: `masked` masks NIK and KK numbers; `clear` (the default for puskesmas, dinkes "
                       "and admin) is refused (403) for kader."})
    include = fields.String(validate=validate.OneOf(("measured", "all")), metadata={
        "description": "eppgbm: `measured` (default) children measured this month, or `all` target children."})
    reason = fields.String(validate=validate.Length(max=40), metadata={
        "description": "follow-up: only children listed for this reason (e.g. `severe_wasting`, `stunted`)."})
    early_warning = fields.String(validate=validate.OneOf(("true", "false")), metadata={
        "description": "follow-up: include the early-warning reason (default: yes up to a puskesmas, no for a "
                       "kecamatan or kabupaten: it would evaluate every child's history)."})


class ExportAreaOut(ma.Schema):
    level = fields.String()
    code = fields.String()
    name = fields.String()


class ExportColumnOut(ma.Schema):
    key = fields.String()
    label = fields.String()
    kind = fields.String(metadata={"description": "text, int, float, pct (0-100), date or bool"})


class ExportTableOut(ma.Schema):
    key = fields.String()
    title = fields.String()
    notes = fields.List(fields.String())
    columns = fields.List(fields.Nested(ExportColumnOut))
    rows = fields.List(fields.Dict(), metadata={
        "description": "One object per row keyed by column key; `level` says what a row is (the first row's "
                       "level is the detail level; other levels are subtotals, `total` the total)."})


class ReportDocumentOut(ma.Schema):
    kind = fields.String()
    title = fields.String()
    area = fields.Nested(ExportAreaOut)
    period = fields.String(metadata={"description": "`YYYY-MM`"})
    generated_at = fields.DateTime()
    data_source = fields.String()
    language = fields.String()
    tables = fields.List(fields.Nested(ExportTableOut))


class DownloadKindOut(ma.Schema):
    kind = fields.String()
    title = fields.String()
    description = fields.String()
    options = fields.List(fields.String())
    by_name = fields.Boolean(metadata={"description": "Rows name children (personal data, streamed)."})
    formats = fields.List(fields.String())
    url = fields.String(metadata={"description": "URL template of the download."})


class DownloadListOut(ma.Schema):
    items = fields.List(fields.Nested(DownloadKindOut))
