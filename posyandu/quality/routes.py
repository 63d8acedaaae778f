"""HTTP routes for data quality (thin: parse, resolve area and language, call operations, dump).

Paths (under ``/api/v1``):

* ``GET /quality/posyandu?level=&code=&month=|from=&to=``  scores per posyandu of the area
* ``GET /quality/cadres?...``                              scores per cadre (who entered the visits)
* ``GET /quality/report.xlsx?...``                         both, plus explanations, as a workbook
"""
from __future__ import annotations

import io

from flask import current_app

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..blueprint import Blueprint
from ..i18n import current_language
from . import operations as ops
from .report import XLSX_MIME, report_document, write_workbook
from .schemas import QualityArgs, QualityReportOut

blp = Blueprint("quality", __name__, url_prefix="/quality",
                description="Anthropometric data quality per posyandu and per cadre: the SMART "
                            "plausibility check on the stored z-scores (WHO flags, SD, skewness, "
                            "kurtosis, digit preference, age and sex ratio) and what only a "
                            "register shows (lengths that shrank, weights copied from last month, "
                            "measuring position missing, implausible values saved, late entries).")

_NOT_FOUND = "The area does not exist or lies outside your scope."
_FORBIDDEN = "Parents may not read data-quality reports."


def request_language(explicit: str | None) -> str:
    """``lang`` if given, else the caller's language (posyandu.i18n: the account's, else
    Accept-Language, else id)."""
    if explicit in ("id", "en"):
        return explicit
    return current_language()


@blp.route("/posyandu", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(QualityArgs, location="query")
@blp.response(200, QualityReportOut)
@blp.alt_response(403, description=_FORBIDDEN)
@blp.alt_response(404, description=_NOT_FOUND)
def quality_by_posyandu(args):
    """Data quality per posyandu

    For each posyandu of the area: the SMART plausibility score computed from the stored
    z-scores of the period's visits (each check with its n, value, class, penalty points and
    whether n is enough to judge), and the register checks (count and rate of visits whose
    length shrank since the previous visit beyond the growth rules' tolerance, weight equals
    last month's, measuring position is missing, a WHO-flagged value was saved, or entry came
    long after the session day). Sorted so that the posyandu needing a supervisor most comes
    first; posyandu without visits come last. `total` is the whole area.

    Kader: their posyandu; puskesmas staff: their puskesmas's area; dinkes: their kabupaten;
    admin: any area. Give `month` (YYYY-MM) or a range `from`..`to` (at most 12 months; every
    visit in the range counts) and the area as `level` + `code` (default: your own area).
    """
    report = ops.quality_report(current_scope(), args, groupings=("posyandu",))
    return report.as_dict("posyandu", request_language(args.get("lang")))


@blp.route("/cadres", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(QualityArgs, location="query")
@blp.response(200, QualityReportOut)
@blp.alt_response(403, description=_FORBIDDEN)
@blp.alt_response(404, description=_NOT_FOUND)
def quality_by_cadre(args):
    """Data quality per cadre

    The same figures grouped by the account that entered each visit (`created_by`), for the
    visits measured at the area's posyandu in the period, sorted so that the cadre who most
    needs support comes first. Visits whose author is unknown form one group with a null id.

    Kader: their posyandu; puskesmas staff: their puskesmas's area; dinkes: their kabupaten;
    admin: any area. Give `month` (YYYY-MM) or a range `from`..`to` (at most 12 months; every
    visit in the range counts) and the area as `level` + `code` (default: your own area).
    """
    report = ops.quality_report(current_scope(), args, groupings=("cadre",))
    return report.as_dict("cadre", request_language(args.get("lang")))


@blp.route("/report.xlsx", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(QualityArgs, location="query")
@blp.response(200, description="The workbook (sheets: per posyandu, per cadre, explanations).")
@blp.alt_response(403, description=_FORBIDDEN)
@blp.alt_response(404, description=_NOT_FOUND)
@blp.doc(responses={"200": {"description": "The workbook (sheets: per posyandu, per cadre, explanations).",
                            "content": {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
def quality_workbook(args):
    """Data quality as an Excel workbook

    The numbers of `/quality/posyandu` and `/quality/cadres` in one `.xlsx` file: a header
    block (report, area, period, generated at, data source), the area total, the groups in the
    same order, each check's value, class and n, the register rates, a note where a group is
    too small to judge, and a sheet explaining each check. Labels in the caller's language.

    Kader: their posyandu; puskesmas staff: their puskesmas's area; dinkes: their kabupaten;
    admin: any area. Give `month` (YYYY-MM) or a range `from`..`to` (at most 12 months; every
    visit in the range counts) and the area as `level` + `code` (default: your own area).
    """
    language = request_language(args.get("lang"))
    report = ops.quality_report(current_scope(), args)
    buffer = io.BytesIO()
    write_workbook(report_document(report, language), buffer, language)
    body = buffer.getvalue()
    filename = f"kualitas-data-{report.area.code}-{report.period.text}.xlsx".replace("..", "_")
    response = current_app.response_class(body, mimetype=XLSX_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
