"""HTTP routes: the coverage reports as JSON, and any report as ``.xlsx``, ``.csv`` or ``.zip``.

Paths (under ``/api/v1``):

* ``GET /reports/immunization-coverage``    doses, IDL/IBL, dropout, UCI per desa (JSON)
* ``GET /reports/vitamin-a-breastfeeding``  vitamin A and exclusive breastfeeding (JSON)
* ``GET /reports/{kind}.xlsx``              any registered report as a workbook
* ``GET /reports/{kind}.csv``               one table of it as CSV (``?table=`` when it has several)
* ``GET /reports/{kind}.zip``               all its tables as CSV files in a zip
* ``GET /reports/downloads``                the kinds that can be downloaded and their options

Convention: the URL's extension is the file you get. Area (``level`` + ``code``, default your
own area) and ``month`` as everywhere in the reports; an area outside your scope is a 404, a
future month a 422. Downloads stream: CSV and zip bytes leave as rows are read from the
database; a workbook is written to a temporary file in ``constant_memory`` mode and then sent in
chunks (xlsx is a zip whose directory comes last, so it cannot leave before it is complete).
"""
from __future__ import annotations

import os
import tempfile

import marshmallow as ma
from flask import Response, stream_with_context

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..blueprint import Blueprint
from ..errors import InvalidInput
from . import export, registry
from .areas import area_from_args, month_from_args
from .export_schemas import (DownloadArgs, DownloadListOut, ImmunizationCoverageArgs, ReportArgs,
                             ReportDocumentOut)

blp = Blueprint("report_exports", __name__, url_prefix="/reports",
                description="Coverage reports (immunization, vitamin A, exclusive breastfeeding) and downloads of "
                            "every report as Excel (.xlsx), CSV or a zip of CSV files.")

FORMATS = ("xlsx", "csv", "zip")
#: Query parameters that are not report options.
RESERVED = {"level", "code", "month", "by", "lang", "table", "delimiter"}
_CHUNK = 64 * 1024
_PROBLEMS = {404: "No such report, or the area does not exist or is outside your scope.",
             422: "Invalid argument (named in `errors`), e.g. a future month.",
             403: "Identifiers in clear asked by a role that may not see them."}


def request_language(explicit: str | None, scope) -> str:
    """The caller's language: ``lang``, else the account's preference, else Accept-Language, else id."""
    if explicit in ("id", "en"):
        return explicit
    from ..i18n import current_language   # the one mechanism (docs/errors-and-languages.md)
    return current_language()


def _build(kind: str, args: dict, options: dict):
    scope = current_scope()
    spec = registry.get(kind)
    area = area_from_args(scope, args)
    month = month_from_args(args)
    language = request_language(args.get("lang"), scope)
    if "lang" in spec.options:  # a report that writes text into its rows (e.g. reasons) renders it too
        options = {**options, "lang": language}
    document = spec.build(scope, area, month, registry.pick_options(spec, options))
    return document, language


def _json(kind: str, args: dict, option_names) -> dict:
    options = {name: args[name] for name in option_names if args.get(name) is not None}
    document, language = _build(kind, args, options)
    return export.document_json(document, language)


@blp.route("/immunization-coverage")
@blp.arguments(ImmunizationCoverageArgs, location="query")
@blp.response(200, ReportDocumentOut)
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def immunization_coverage(args):
    """Immunization coverage of an area for a month

    Tables: `doses` (per vaccine and dose: given this month and cumulatively from January, against
    the target — infants 0–11 months for basic doses, children 12–23 months for the baduta boosters —
    and catch-up doses beyond the target age), `completeness` (per area below: IDL and IBL this month
    and this year against the targets, DPT-HB-Hib 1/3 and MR1 this year, dropout 1→3 and 1→MR1),
    `uci` (per desa: children 12–23 months with IDL complete before their first birthday against the
    threshold, 80 % by default) and `by_sex`. Only valid doses count (the schedule engine's validity).
    Targets are the children registered at the month's end, placed where they were that day.
    """
    return _json("immunization-coverage", args, ("by", "uci_threshold"))


@blp.route("/vitamin-a-breastfeeding")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportDocumentOut)
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def vitamin_a_breastfeeding(args):
    """Vitamin A and exclusive breastfeeding coverage of an area for a month

    Tables: `vitamin_a` (registered children 6–11 and 12–59 months and those given a capsule this
    month; capsules are given in February and August), `exclusive_breastfeeding` (infants asked at
    0–5 months and exclusively breastfed; infants who turned 6 months this month and were exclusively
    breastfed to 6 months) and `by_sex`, from the flags recorded with each measurement.
    """
    return _json("vitamin-a-breastfeeding", args, ("by",))


@blp.route("/downloads")
@blp.arguments(ReportArgs(only=("lang",)), location="query")
@blp.response(200, DownloadListOut)
@roles_required(*STAFF_ROLES)
def list_downloads(args):
    """Reports you can download

    Every registered report kind with its options; download one as
    `/api/v1/reports/{kind}.xlsx`, `.csv` (one table) or `.zip` (all tables as CSV).
    """
    scope = current_scope()
    language = request_language(args.get("lang"), scope)
    items = [{"kind": spec.kind, "title": spec.title(language), "description": spec.description_en,
              "options": ["level", "code", "month", "lang", *spec.options], "by_name": spec.by_name,
              "formats": list(FORMATS), "url": f"/api/v1/reports/{spec.kind}.{{format}}"}
             for spec in sorted(registry.load_all().values(), key=lambda s: s.kind)]
    return {"items": items}


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/<string:kind>.<any(xlsx,csv,zip):fmt>")
@blp.arguments(DownloadArgs, location="query", unknown=ma.INCLUDE)
@blp.doc(responses={"200": {
    "description": "The report file (attachment). `.xlsx`: one sheet per table, a header block (area, period, "
                   "generated at, data source), frozen header row, numbers as numbers, subtotal rows styled. "
                   "`.csv`: UTF-8 with BOM, comma-separated, a `Tingkat`/`Level` column when rows have levels. "
                   "`.zip`: one CSV per table and `report.txt`.",
    "content": {export.MEDIA_TYPES["xlsx"]: _BINARY, "text/csv": _BINARY, "application/zip": _BINARY}}})
@blp.alt_response(403, description=_PROBLEMS[403])
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def download(args, kind, fmt):
    """Download a report as .xlsx, .csv or .zip

    `kind` is one of `/api/v1/reports/downloads` (e.g. `immunization-coverage`,
    `vitamin-a-breastfeeding`, `eppgbm`, and the nutrition reports). The extension picks the
    format. Labels in Bahasa Indonesia by default (`lang=en` for English). Options of the report
    (e.g. `by`, `uci_threshold`, `nik`, `include`) are query parameters; one the report does not
    take is a 422. By-name exports stream a whole kabupaten with bounded memory.
    """
    options = {k: v for k, v in args.items() if k not in RESERVED and v is not None}
    if args.get("by"):
        options["by"] = args["by"]
    document, language = _build(kind, args, options)
    delimiter = ";" if args.get("delimiter") == "semicolon" else ","
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if fmt == "xlsx":
        return _xlsx_response(document, language, headers)
    if fmt == "zip":
        name = export.filename(document, "zip")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        body = export.iter_zip(document, language=language, delimiter=delimiter)
        return Response(stream_with_context(body), mimetype=export.MEDIA_TYPES["zip"], headers=headers)
    table = _pick_table(document, args.get("table"))
    name = export.filename(document, "csv", table if len(document.tables) > 1 else None)
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    body = export.iter_csv_bytes(table, language=language, delimiter=delimiter)
    return Response(stream_with_context(body), headers=headers, content_type=export.MEDIA_TYPES["csv"])


def _pick_table(document, key: str | None):
    keys = [t.key for t in document.tables]
    if key:
        for table in document.tables:
            if table.key == key:
                return table
        raise InvalidInput(f"The report has no table {key!r}.",
                           errors={"table": [f"Must be one of: {', '.join(keys)}."]})
    if len(document.tables) == 1:
        return document.tables[0]
    raise InvalidInput("This report has several tables: name one, or download the .zip.",
                       errors={"table": [f"Required for .csv: one of {', '.join(keys)} (or use .zip)."]})


def _xlsx_response(document, language: str, headers: dict) -> Response:
    """Write the workbook to a temporary file (constant_memory), then stream the file."""
    handle, path = tempfile.mkstemp(prefix="posyandu-report-", suffix=".xlsx")
    os.close(handle)
    try:
        export.write_xlsx(document, path, language=language, constant_memory=True)
        size = os.path.getsize(path)
    except BaseException:
        os.unlink(path)
        raise

    def remove() -> None:
        if os.path.exists(path):
            os.unlink(path)

    def chunks():
        try:
            with open(path, "rb") as file:
                while True:
                    block = file.read(_CHUNK)
                    if not block:
                        return
                    yield block
        finally:
            remove()

    headers["Content-Disposition"] = f'attachment; filename="{export.filename(document, "xlsx")}"'
    headers["Content-Length"] = str(size)
    response = Response(chunks(), mimetype=export.MEDIA_TYPES["xlsx"], headers=headers, direct_passthrough=True)
    response.call_on_close(remove)  # also when the body is never read (HEAD, a dropped client)
    return response
