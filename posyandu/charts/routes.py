"""HTTP routes for charts (thin: parse, check scope, call an operation, send the picture).

Paths (under ``/api/v1``):

* ``GET /children/{child_id}/charts``                         the child's charts, with links
* ``GET /children/{child_id}/charts/{indicator}.svg|.png``    a child's KMS-style chart
* ``GET /charts/z-distribution.svg|.png``                     an area's HAZ and WHZ against N(0, 1)
* ``GET /charts/trend.svg|.png``                              an area's monthly prevalence with 95% CI
* ``GET /charts/immunization-coverage.svg|.png``              IDL per desa against the UCI threshold
* ``GET /charts/vitamin-a-breastfeeding.svg|.png``            vitamin A and exclusive breastfeeding per group

Pictures carry a strong ``ETag`` (a digest of what they show) and ``Cache-Control: private,
no-cache``: a client sending ``If-None-Match`` gets ``304 Not Modified`` without the picture
being drawn. A child outside the caller's scope (another posyandu, puskesmas, kabupaten or
family) is a 404; area charts are for staff (parents 403), an area outside scope is a 404.
"""
from __future__ import annotations

from flask import Response, request

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..blueprint import Blueprint
from ..errors import InvalidInput
from ..reports.areas import area_from_args, month_from_args
from . import operations as ops
from .labels import LANGUAGES
from .schemas import AreaChartArgs, ChartIndexOut, ChildChartArgs, TrendChartArgs

blp = Blueprint("charts", __name__, url_prefix=None,
                description="Growth charts: a child's KMS-style charts (WHO curves from the package's LMS "
                            "tables, the KMS red and orange lines of the rule set), and an area's z-score "
                            "distribution and prevalence trend. SVG or PNG.")

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_PICTURE = {"200": {
    "description": "The chart (``.svg``: image/svg+xml, ``.png``: image/png), with a strong ``ETag``.",
    "content": {"image/svg+xml": _BINARY, "image/png": _BINARY}},
    "304": {"description": "``If-None-Match`` matched the chart's ETag: nothing changed since."}}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # an SVG opened directly must not run anything (ours never contain scripts)
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def _language(args) -> str:
    """``lang``, else the account's language, else Accept-Language, else ``id``."""
    if args.get("lang") in LANGUAGES:
        return args["lang"]
    from ..i18n import current_language   # the one mechanism (docs/errors-and-languages.md)
    return current_language()


def _send(chart: ops.Chart) -> Response:
    headers = {"ETag": chart.etag, "Cache-Control": "private, no-cache", "Vary": "Authorization, Accept-Language",
               **_SECURITY_HEADERS}
    if request.if_none_match and request.if_none_match.contains_weak(chart.etag.strip('"')):
        return Response(status=304, headers=headers)
    return Response(chart.body(), mimetype=chart.media_type, headers=headers)


def _area_and_month(args):
    scope = current_scope()
    return scope, area_from_args(scope, args), month_from_args(args)


@blp.route("/children/<uuid:child_id>/charts", methods=["GET"])
@roles_required()
@blp.response(200, ChartIndexOut)
def child_chart_index(child_id):
    """A child's growth charts

    The charts that can be drawn for the child, with the number of values each shows, the
    view ``auto`` picks and links to the SVG and PNG. Head circumference-for-age is listed only
    when it was measured. Staff in scope and the child's own parents.
    """
    return ops.child_chart_index(current_scope(), child_id)


@blp.route("/children/<uuid:child_id>/charts/<string:indicator>.<string:fmt>", methods=["GET"])
@roles_required()
@blp.arguments(ChildChartArgs, location="query")
@blp.doc(responses=_PICTURE)
def child_chart(args, child_id, indicator, fmt):
    """A child's growth chart (KMS style)

    ``indicator``: ``weight-for-age`` (the KMS: BB/U with the red line -- below it is BGM -- and
    the orange line, at the z-scores of the rule set the BGM rule uses), ``length-for-age``
    (PB/U under 24 months, TB/U from 24), ``weight-for-length`` (BB/PB on length under 24
    months, BB/TB on height from 24) or ``head-circumference-for-age`` (LK/U). The extension
    picks the format: ``.svg`` or ``.png`` (800 x 600). The WHO curves at -3 ... +3 SD come from
    the package's LMS tables, with green and yellow bands as on the Buku KIA chart, in boys'
    blue or girls' pink. The child's values are connected points; a value flagged implausible
    is drawn apart as a cross marked "ukur ulang" (measure again). Age in months on the x axis
    (length/height for weight-for-length). Labels in Bahasa Indonesia, or English with
    ``lang=en``. Staff in scope and the child's own parents; anyone else gets a 404. Send the
    ETag back in ``If-None-Match`` to get a 304 while nothing changed.
    """
    chart = ops.child_chart(current_scope(), child_id, indicator, fmt, view=args["view"], lang=_language(args))
    return _send(chart)


@blp.route("/charts/z-distribution.<string:fmt>", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(AreaChartArgs, location="query")
@blp.doc(responses=_PICTURE)
def distribution_chart(args, fmt):
    """Distribution of HAZ and WHZ in an area and month

    As WHO's Anthro Survey Analyser draws it: the density of the z-scores of the children
    measured in the month (Gaussian kernel, R's default bandwidth ``bw.nrd0``) over the
    standard normal curve N(0, 1), one panel for length/height-for-age and one for
    weight-for-length/height, with n, mean and SD in the legend. One record per child (her last
    weighing of the month, as in the reports); values flagged implausible are left out.
    ``level`` and ``code`` name the area (default: your own), ``month`` is ``YYYY-MM``
    (default: this month). Staff only; an area outside your scope is a 404.
    """
    _check_format(fmt)
    _, area, month = _area_and_month(args)
    return _send(ops.distribution_chart(area, month, fmt, lang=_language(args)))


@blp.route("/charts/trend.<string:fmt>", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(TrendChartArgs, location="query")
@blp.doc(responses=_PICTURE)
def trend_chart(args, fmt):
    """Monthly prevalence trend of an area

    Stunting (TB/U < -2 SD), wasting (BB/TB < -2 SD) and underweight (BB/U < -2 SD) over the
    ``months`` months (default 12) ending with ``month``, each with its 95% confidence band
    (WHO Anthro's method; N = the children measured that month). The series is the monthly
    trend report's when the reports feature is installed. Staff only; an area outside your
    scope is a 404.
    """
    _check_format(fmt)
    scope, area, month = _area_and_month(args)
    return _send(ops.trend_chart(scope, area, month, args["months"], fmt, lang=_language(args)))


@blp.route("/charts/immunization-coverage.<string:fmt>", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(AreaChartArgs, location="query")
@blp.doc(responses=_PICTURE)
def immunization_coverage_chart(args, fmt):
    """Complete basic immunization (IDL) per desa against the UCI threshold

    One horizontal bar per desa/kelurahan of the area: the share of its registered children
    aged 12-23 months with IDL complete before their first birthday, the numbers of the
    immunization coverage report's UCI table (``GET /reports/immunization-coverage``, default
    options). The UCI threshold (the report's setting, 80 % by default) is a dashed line; bars
    below it are orange. A desa without children 12-23 months says so instead of a bar.
    Staff only; an area outside your scope is a 404.
    """
    _check_format(fmt)
    scope, area, month = _area_and_month(args)
    return _send(ops.coverage_chart("immunization-coverage", scope, area, month, fmt, lang=_language(args)))


@blp.route("/charts/vitamin-a-breastfeeding.<string:fmt>", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(AreaChartArgs, location="query")
@blp.doc(responses=_PICTURE)
def vitamin_a_breastfeeding_chart(args, fmt):
    """Vitamin A and exclusive breastfeeding coverage per group

    Two horizontal bars per group of the report's default breakdown (the level below the
    area): vitamin A coverage of the registered children 6-59 months and the share of infants
    0-5 months exclusively breastfed, the numbers of ``GET /reports/vitamin-a-breastfeeding``.
    Staff only; an area outside your scope is a 404.
    """
    _check_format(fmt)
    scope, area, month = _area_and_month(args)
    return _send(ops.coverage_chart("vitamin-a-breastfeeding", scope, area, month, fmt, lang=_language(args)))


def _check_format(fmt: str) -> None:
    if fmt not in ops.FORMATS:
        raise InvalidInput("Unknown picture format.", errors={"format": [f"Must be one of: {', '.join(ops.FORMATS)}."]})
