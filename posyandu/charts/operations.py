"""Chart use cases: load what a chart shows through the caller's scope, fingerprint it, draw it.

* ``child_chart(scope, child_id, indicator, fmt, view="auto", lang="id") -> Chart``
    A child's KMS-style chart. The child is loaded through ``scope.child_clause()`` (staff in
    scope, the child's own parents): anyone else gets ``NotFound``. Two queries (the child, her
    live measurements); nothing is drawn until ``Chart.body()`` is called, so a request whose
    ``If-None-Match`` matches ``Chart.etag`` is answered 304 without drawing.
* ``child_chart_index(scope, child_id) -> dict``  which charts a child has, with links.
* ``distribution_chart(area, month, fmt, lang) -> Chart``  HAZ and WHZ of an area's children
    measured in a month against N(0, 1).
* ``trend_chart(scope, area, month, months, fmt, lang) -> Chart``  stunting, wasting and
    underweight over the last ``months`` months with 95% CI.
* ``coverage_chart(kind, scope, area, month, fmt, lang) -> Chart``  bars per group of the
    ``immunization-coverage`` (IDL per desa against the UCI threshold) or
    ``vitamin-a-breastfeeding`` report, read from the report's own table rows.

Areas come resolved (``reports.areas.resolve_area``: in scope or 404). Read-only: nothing here
writes, audits or notes sync changes.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Callable

import numpy as np
import sqlalchemy as sa

from ..children.models import Child
from ..core import prevalence
from ..core.growth.rules import default_rules
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..measurements.models import Measurement
from ..regions.models import Posyandu
from ..reports.areas import Area, Month
from . import cache, labels, render

#: API indicator names -> chart kinds (render.py).
INDICATORS = {
    "weight-for-age": "wfa",
    "length-for-age": "lhfa",
    "weight-for-length": "wfl",
    "head-circumference-for-age": "hcfa",
}
VIEWS = ("auto", "0-24", "24-60", "0-60")
FORMATS = tuple(render.MEDIA_TYPES)

#: Per chart kind: (value column, x column or None for age, z column, flag column, oedema
#: blanks its z). The z and flag are the ones stored at write time (the assessment).
_POINT_COLUMNS = {
    "wfa": ("weight_kg", None, "zwei", "fwei", True),
    "lhfa": ("clenhei", None, "zlen", "flen", False),
    "wfl": ("weight_kg", "clenhei", "zwfl", "fwfl", True),
    "hcfa": ("head_circumference_cm", None, "zhc", "fhc", False),
}

_C = Child.__table__
_M = Measurement.__table__
_HISTORY = tuple(_M.c[name] for name in (
    "measured_on", "age_days", "weight_kg", "clenhei", "head_circumference_cm", "oedema",
    "zwei", "fwei", "zlen", "flen", "zwfl", "fwfl", "zhc", "fhc"))


@dataclass(frozen=True)
class Chart:
    """A picture to send: its ETag is known before it is drawn."""

    etag: str
    media_type: str
    draw: Callable[[], bytes]

    def body(self) -> bytes:
        return cache.cached(self.etag, self.draw)


def _check(indicator: str, fmt: str, view: str) -> str:
    errors = {}
    kind = INDICATORS.get(indicator)
    if kind is None:
        errors["indicator"] = [f"Must be one of: {', '.join(INDICATORS)}."]
    if fmt not in FORMATS:
        errors["format"] = [f"Must be one of: {', '.join(FORMATS)}."]
    if view not in VIEWS:
        errors["view"] = [f"Must be one of: {', '.join(VIEWS)}."]
    elif kind == "wfl" and view == "0-60":
        errors["view"] = ["Weight-for-length/height is drawn on length: use 0-24 (BB/PB) or 24-60 (BB/TB)."]
    if errors:
        raise InvalidInput("Some parameters are invalid: " + ", ".join(sorted(errors)), errors=errors)
    return kind


def _load_child(scope, child_id: uuid.UUID):
    child = db.session.execute(
        sa.select(_C.c.id, _C.c.sex, _C.c.birth_date, _C.c.name)
        .where(_C.c.id == child_id, scope.child_clause(_C.c))).first()
    if child is None:
        raise NotFound("No such child.")
    return child


def _load_history(child_id: uuid.UUID) -> list:
    return db.session.execute(
        sa.select(*_HISTORY).where(_M.c.child_id == child_id, _M.c.deleted_at.is_(None))
        .order_by(_M.c.measured_on, _M.c.created_at)).all()


def child_points(kind: str, birth_date: date, rows) -> list[render.ChildPoint]:
    """The chart points of one indicator from stored measurements: a value with a valid z is
    ``ok``; a flagged z (WHO implausible) is ``flagged``; a weight whose z is blank because of
    oedema is ``oedema``; values without a z for another reason (age or length outside the
    tables) are left out."""
    value_col, x_col, z_col, flag_col, oedema_blanks = _POINT_COLUMNS[kind]
    points = []
    for r in rows:
        m = r._mapping
        value = m[value_col]
        x = m[x_col] if x_col else None
        if value is None or (x_col and x is None):
            continue
        age = m["age_days"] if m["age_days"] is not None else (m["measured_on"] - birth_date).days
        if m[flag_col]:
            status = "flagged"
        elif m[z_col] is not None:
            status = "ok"
        elif oedema_blanks and m["oedema"]:
            status = "oedema"
        else:
            continue
        points.append(render.ChildPoint(int(age), float(x if x_col else age), float(value), status))
    return points


def choose_view(kind: str, view: str, points, today_age_days: int) -> str:
    """``auto``: 0-24 when every point is under 731 days, 24-60 when every point is older,
    0-60 when they span both; weight-for-length/height follows the latest point (its table).
    Without points, the child's age today decides."""
    if view != "auto":
        return view
    ages = [p.age_days for p in points if 0 <= p.age_days <= 1826]
    if kind == "wfl":
        base = max(ages) if ages else today_age_days
        return "0-24" if base < render.SPLIT_DAY else "24-60"
    if not ages:
        return "0-24" if today_age_days < render.SPLIT_DAY else "24-60"
    if max(ages) < render.SPLIT_DAY:
        return "0-24"
    if min(ages) >= render.SPLIT_DAY:
        return "24-60"
    return "0-60"


def _plain_text(text: str | None) -> str | None:
    """User text for matplotlib: a ``$`` would start mathtext."""
    return None if text is None else text.replace("$", r"\$")


def child_chart(scope, child_id: uuid.UUID, indicator: str, fmt: str, view: str = "auto", lang: str = "id",
                today: date | None = None) -> Chart:
    _check(indicator, fmt, view)
    spec = child_chart_spec(scope, child_id, indicator, view, lang, today)
    etag = cache.etag_for("child", fmt, render.RENDERER_VERSION, render.kms_style()["version"], repr(spec))
    return Chart(etag, render.MEDIA_TYPES[fmt], lambda: render.child_chart(spec, fmt))


def child_chart_spec(scope, child_id: uuid.UUID, indicator: str, view: str = "auto", lang: str = "id",
                     today: date | None = None) -> render.ChildChart:
    """Everything the chart shows (the renderer's input and the ETag's content)."""
    kind = _check(indicator, FORMATS[0], view)
    child = _load_child(scope, child_id)
    points = child_points(kind, child.birth_date, _load_history(child_id))
    today = today or date.today()
    chosen = choose_view(kind, view, points, (today - child.birth_date).days)
    rules = default_rules()
    return render.ChildChart(
        indicator=kind, view=chosen, sex=int(child.sex), points=tuple(render.points_in_view(kind, chosen, points)),
        lang=lang, name=_plain_text(child.name), birth_date=child.birth_date, red_line_z=rules.kms_red_line_z,
        orange_line_z=rules.kms_orange_line_z, rules_version=rules.version)


def child_chart_index(scope, child_id: uuid.UUID, today: date | None = None) -> dict:
    """Per indicator: how many values can be drawn, how many are flagged, the default view and
    the links. Head circumference is listed only when it was measured."""
    child = _load_child(scope, child_id)
    rows = _load_history(child_id)
    today = today or date.today()
    items = []
    for name, kind in INDICATORS.items():
        points = child_points(kind, child.birth_date, rows)
        if kind == "hcfa" and not points:
            continue
        base = f"/api/v1/children/{child_id}/charts/{name}"
        items.append({"indicator": name, "points": sum(p.status == "ok" for p in points),
                      "flagged": sum(p.status == "flagged" for p in points),
                      "view": choose_view(kind, "auto", points, (today - child.birth_date).days),
                      "svg": f"{base}.svg", "png": f"{base}.png"})
    return {"child_id": child_id, "charts": items}


# ---------------------------------------------------------------------------------------------
# area charts
# ---------------------------------------------------------------------------------------------
def _month_records(area: Area, first: Month, last: Month):
    """One record per child and month from ``first`` to ``last`` -- the reports' record, read
    from their summary table ``report_child_month`` (the last live weighing of the month by
    date then entry time; see ``posyandu.reports.summary``) -- for the children placed at the
    area's posyandu that month, 0-59 completed months old at that visit. A subquery with
    ``month`` (year * 12 + month - 1), ``child_id``, the stored z-scores, flags and ``oedema``."""
    from ..reports.models import ReportChildMonth
    s = ReportChildMonth.__table__
    return (sa.select(s.c.month, s.c.child_id, s.c.age_months, s.c.oedema, s.c.zlen, s.c.flen, s.c.zwfl,
                      s.c.fwfl, s.c.zwei, s.c.fwei)
            .where(s.c.month >= first.index, s.c.month <= last.index,
                   s.c.posyandu_id.in_(sa.select(Posyandu.id).where(area.posyandu_condition(Posyandu))),
                   s.c.age_months >= 0, s.c.age_months <= 59)
            .subquery("records"))


def _valid(z, flag):
    """z present and not flagged implausible."""
    return sa.and_(z.is_not(None), sa.or_(flag.is_(None), flag == sa.false()))


def _area_subtitle(area: Area, period: str) -> str:
    return f"{_plain_text(area.name)} ({area.code}) · {period}"


def _long_month(month: Month, lang: str) -> str:
    names = labels.MONTHS_EN if lang == "en" else labels.MONTHS_ID
    return f"{names[month.month - 1]} {month.year}"


def distribution_samples(area: Area, month: Month) -> dict[str, np.ndarray]:
    """HAZ and WHZ of the month's records (flagged values left out), as arrays."""
    records = _month_records(area, month, month)
    rows = db.session.execute(sa.select(records.c.zlen, records.c.flen, records.c.zwfl, records.c.fwfl)).all()
    haz = np.array([r.zlen for r in rows if r.zlen is not None and not r.flen], dtype=float)
    whz = np.array([r.zwfl for r in rows if r.zwfl is not None and not r.fwfl], dtype=float)
    return {"haz": haz, "whz": whz}


def distribution_chart(area: Area, month: Month, fmt: str, lang: str = "id") -> Chart:
    samples = distribution_samples(area, month)
    spec = render.DistributionChart(samples=(("haz", samples["haz"]), ("whz", samples["whz"])),
                                    subtitle=_area_subtitle(area, _long_month(month, lang)), lang=lang)
    etag = cache.etag_for("distribution", fmt, render.RENDERER_VERSION, lang, spec.subtitle,
                          samples["haz"].tobytes(), samples["whz"].tobytes())
    return Chart(etag, render.MEDIA_TYPES[fmt], lambda: render.distribution_chart(spec, fmt))


#: Oedema counts as a weight-for-height and weight-for-age case below -3 (WHO anthro's
#: prevalence; the reports do the same).
_OEDEMA_Z = -3.1


def computed_trend_rows(area: Area, month: Month, months: int) -> list[dict]:
    """The trend series computed here from the month records (one GROUP BY): used only while
    the reports' trend operation (``posyandu.reports.trend``) is not installed. Prevalence and
    CI by WHO anthro's simple path (``core.prevalence.proportion``), N = children measured."""
    first = month.shift(-(months - 1))
    r = _month_records(area, first, month)

    def count(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    oedema = r.c.oedema == sa.true()
    query = (sa.select(
        r.c.month, sa.func.count().label("measured"),
        count(_valid(r.c.zlen, r.c.flen)).label("stunting_n"),
        count(sa.and_(_valid(r.c.zlen, r.c.flen), r.c.zlen < -2)).label("stunting_k"),
        count(sa.or_(_valid(r.c.zwfl, r.c.fwfl), sa.and_(oedema, r.c.zwfl.is_(None)))).label("wasting_n"),
        count(sa.or_(sa.and_(_valid(r.c.zwfl, r.c.fwfl), r.c.zwfl < -2),
                     sa.and_(oedema, r.c.zwfl.is_(None)))).label("wasting_k"),
        count(sa.or_(_valid(r.c.zwei, r.c.fwei), sa.and_(oedema, r.c.zwei.is_(None)))).label("underweight_n"),
        count(sa.or_(sa.and_(_valid(r.c.zwei, r.c.fwei), r.c.zwei < -2),
                     sa.and_(oedema, r.c.zwei.is_(None)))).label("underweight_k"))
        .group_by(r.c.month))
    by_month = {int(row.month): row._mapping for row in db.session.execute(query)}
    series = [first.shift(k) for k in range(months)]
    out = []
    for m in series:
        row = by_month.get(m.index)
        item = {"month": str(m), "measured": int(row["measured"]) if row else 0}
        for key in render.TREND_SERIES:
            k = int(row[f"{key}_k"] or 0) if row else 0
            n = int(row[f"{key}_n"] or 0) if row else 0
            measured = int(row["measured"]) if row else 0
            est = prevalence.proportion([k], [n], [measured])
            item[f"{key}_n"] = n
            for name, part in (("pct", "r"), ("ci_low", "ll"), ("ci_high", "ul")):
                value = float(est[part][0])
                item[f"{key}_{name}"] = None if np.isnan(value) else round(value, 2)
        out.append(item)
    return out


def trend_rows(scope, area: Area, month: Month, months: int) -> tuple[list[dict], str]:
    """The monthly series and where it came from: the reports' trend document when the
    reports feature is installed (``"reports.trend"``), else :func:`computed_trend_rows`
    (``"charts"``)."""
    try:
        from ..reports import trend as report_trend
    except ImportError:
        return computed_trend_rows(area, month, months), "charts"
    document = report_trend.trend_document(scope, area, month, {"months": months, "skdn": False})
    table = next(t for t in document.tables if t.key == "trend")
    return list(table.rows), "reports.trend"


def trend_chart(scope, area: Area, month: Month, months: int, fmt: str, lang: str = "id") -> Chart:
    rows, source = trend_rows(scope, area, month, months)
    period = f"{labels.short_month(rows[0]['month'], lang)} – {labels.short_month(rows[-1]['month'], lang)}"
    spec = render.TrendChart.from_rows(rows, subtitle=_area_subtitle(area, period), lang=lang)
    etag = cache.etag_for("trend", fmt, render.RENDERER_VERSION, source, repr(spec))
    return Chart(etag, render.MEDIA_TYPES[fmt], lambda: render.trend_chart(spec, fmt))


# ---------------------------------------------------------------------------------------------
# coverage bars: the numbers are the report builders' (registry), never recomputed here
# ---------------------------------------------------------------------------------------------
#: Report kinds with a coverage bar chart.
COVERAGE_KINDS = ("immunization-coverage", "vitamin-a-breastfeeding")


def _table(document, key: str):
    return next(t for t in document.tables if t.key == key)


def _group_rows(table, level: str | None = None) -> list[dict]:
    """The rows of one group each (not the subtotals or the total), in the report's order."""
    from ..reports.document import ROW_LEVEL
    rows = list(table.rows)
    if level is None:
        levels = [r.get(ROW_LEVEL) for r in rows if r.get(ROW_LEVEL) not in ("total",)]
        level = levels[0] if levels else None
    return [r for r in rows if r.get(ROW_LEVEL) == level]


def _group_name(row: dict) -> str:
    return row.get("posyandu_name") or row.get("name") or row.get("code") or row.get("posyandu_code") or ""


def _column_label(table, key: str, lang: str) -> str:
    column = next(c for c in table.columns if c.key == key)
    return column.label_en if lang == "en" else column.label_id


def coverage_spec(kind: str, scope, area: Area, month: Month, lang: str = "id") -> render.CoverageChart:
    """What the bars show, from the report document built through the registry (the same
    numbers as ``GET /reports/{kind}``, default options)."""
    from ..reports import registry
    document = registry.build(kind, scope, area, month, {})
    subtitle = _area_subtitle(area, _long_month(month, lang))
    if kind == "immunization-coverage":
        table = _table(document, "uci")
        rows = _group_rows(table, "desa")
        threshold = float(rows[0]["uci_threshold"]) if rows else None
        value = labels.number(threshold, 0 if threshold is not None and threshold.is_integer() else 1, lang) \
            if threshold is not None else ""
        return render.CoverageChart(
            title=labels.text("title.immunization", lang), groups=tuple(_plain_text(_group_name(r)) for r in rows),
            series=(("idl", labels.text("coverage.idl", lang), tuple(r["uci_pct"] for r in rows)),),
            threshold=threshold, threshold_label=labels.text("coverage.threshold", lang, value=value),
            subtitle=subtitle, footer=labels.text("footer.immunization", lang), lang=lang)
    vitamin_a = _table(document, "vitamin_a")
    ebf = _table(document, "exclusive_breastfeeding")
    vita_rows, ebf_rows = _group_rows(vitamin_a), _group_rows(ebf)
    # both tables are breakdown_rows over the same group list: the same groups in the same order
    return render.CoverageChart(
        title=labels.text("title.vitamin_a_breastfeeding", lang),
        groups=tuple(_plain_text(_group_name(r)) for r in vita_rows),
        series=(("vitamin_a", _column_label(vitamin_a, "pct_6_59", lang), tuple(r["pct_6_59"] for r in vita_rows)),
                ("exclusive_breastfeeding", _column_label(ebf, "exclusive_pct", lang),
                 tuple(r["exclusive_pct"] for r in ebf_rows))),
        subtitle=subtitle, footer=labels.text("footer.vitamin_a_breastfeeding", lang), lang=lang)


def coverage_chart(kind: str, scope, area: Area, month: Month, fmt: str, lang: str = "id") -> Chart:
    spec = coverage_spec(kind, scope, area, month, lang)
    etag = cache.etag_for("coverage", kind, fmt, render.RENDERER_VERSION, repr(spec))
    return Chart(etag, render.MEDIA_TYPES[fmt], lambda: render.coverage_chart(spec, fmt))
