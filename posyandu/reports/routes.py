"""HTTP routes of the nutrition reports (issue 8 §3), as JSON report documents.

* ``GET /reports/nutrition-status``  counts per category and prevalence with 95% CI
* ``GET /reports/skdn``              S, K, D, N, T, O, B, BGM, 2T and ratios
* ``GET /reports/trend``             the headline indicators for the last N months

Area (``level`` + ``code``; default your own area), ``month`` (``YYYY-MM``, default this month;
a future month is a 422), ``by`` (the level below), ``lang``. An area outside your scope is a
404 (parents have none). The same documents download as ``/reports/{kind}.xlsx|csv|zip``
(routes_exports.py).
"""
from __future__ import annotations

from ..blueprint import Blueprint
from .export_schemas import ReportDocumentOut
from .routes_exports import _PROBLEMS, _json
from .schemas import NutritionReportArgs, TrendArgs

blp = Blueprint("nutrition_reports", __name__, url_prefix="/reports",
                description="Monthly nutrition reports for puskesmas and dinkes: nutrition status (prevalence with "
                            "WHO anthro's 95% CI), SKDN and trends. Administrative by-name data, not comparable to "
                            "survey estimates (SSGI/SKI).")


@blp.route("/nutrition-status")
@blp.arguments(NutritionReportArgs, location="query")
@blp.response(200, ReportDocumentOut)
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def nutrition_status(args):
    """Nutrition status of an area for a month

    One record per child per month (the month's last weighing). Tables: `summary` (per area of
    the level below, posyandu rows with desa and puskesmas subtotals: target children S, measured,
    coverage = measured ÷ S, excluded as implausible, and the prevalence of stunting, severe
    stunting, wasting, severe wasting, underweight and overweight with cases, denominator and
    WHO anthro's 95% CI), `by_sex_age` (all, per sex, per age group 0–5, 6–11, 12–23, 24–59
    months, baduta 0–23, balita 0–59, and age + sex), `categories` and `categories_by_sex_age`
    (counts per BB/U, TB/U, BB/TB, IMT/U and LiLA category), `exclusions` (why values were left
    out: WHO flags per index, implausible against the previous visit, oedema). Notes say that the
    data are administrative (by-name) and not comparable to SSGI/SKI, and in February and August
    that it is the bulan penimbangan.
    """
    return _json("nutrition-status", args, ("by",))


@blp.route("/skdn")
@blp.arguments(NutritionReportArgs, location="query")
@blp.response(200, ReportDocumentOut)
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def skdn(args):
    """SKDN of an area for a month

    Tables: `skdn` (per area of the level below, posyandu rows with desa and puskesmas
    subtotals, and the total) and `by_sex`: S (target children), K (with a KMS/KIA book or
    weighed), D (weighed, with a status), N, T, O, B (D = N + T + O + B), BGM, 2T, weighed with an
    implausible weight, K/S, D/S, N/D, N/S, D/K, N/(N+T), BGM/D (percent), S − D and K − D.
    """
    return _json("skdn", args, ("by",))


@blp.route("/trend")
@blp.arguments(TrendArgs, location="query")
@blp.response(200, ReportDocumentOut)
@blp.alt_response(404, description=_PROBLEMS[404])
@blp.alt_response(422, description=_PROBLEMS[422])
def trend(args):
    """The headline indicators of an area for the last N months

    Table `trend`, oldest month first: S, measured, coverage, the six prevalences with their
    95% CI (N = that month's children measured), D, D/S, N/D, BGM and 2T. `months` (1–60,
    default 12) ends with `month`.
    """
    return _json("trend", args, ("months",))
