"""An area's z-score distribution and prevalence trend: on the picture (legend numbers worked out
by hand from the stored z-scores, the N(0, 1) curve, the series' points), scope and bad input."""
from __future__ import annotations

import math
import statistics
from datetime import date

import numpy as np
import pytest

from posyandu.charts import render
from tests import factories
from tests.charts.svg import Svg, y_at

TOL = 0.3


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


@pytest.fixture
def measured_month(world, visit):
    """Puskesmas A (posyandu A1 and A2) in October 2026: three children with valid lengths, one
    with an implausible length (left out), one measured twice (the later visit counts), and
    noise that must not count: a September visit and a child of puskesmas B."""
    born = date(2025, 1, 10)
    kids = [factories.child(world.posyandu_a1, f"Anak {i}", birth_date=born, mother_name=f"Ibu {i}")
            for i in range(4)]
    kids.append(factories.child(world.posyandu_a2, "Anak A2", sex=2, birth_date=born, mother_name="Ibu A2"))
    other = factories.child(world.posyandu_b1, "Anak B1", birth_date=born, mother_name="Ibu B1")
    from posyandu.extensions import db
    db.session.commit()
    records = []
    visit(kids[0], date(2026, 10, 2), weight_kg=9.0, length_cm=80.0, measure_method="lying")  # superseded
    records.append(visit(kids[0], date(2026, 10, 20), weight_kg=10.6, length_cm=84.0, measure_method="lying"))
    records.append(visit(kids[1], date(2026, 10, 14), weight_kg=9.1, length_cm=75.0, measure_method="lying"))
    records.append(visit(kids[4], date(2026, 10, 14), weight_kg=11.5, length_cm=86.5, measure_method="lying"))
    flagged = visit(kids[2], date(2026, 10, 14), weight_kg=10.0, length_cm=55.0, measure_method="lying")
    visit(kids[3], date(2026, 9, 14), weight_kg=10.0, length_cm=82.0, measure_method="lying")
    visit(other, date(2026, 10, 14), weight_kg=10.0, length_cm=70.0, measure_method="lying")
    assert flagged["assessment"]["flags"]["flen"] is True
    return records, flagged


def get(client, h, user, path, **params):
    return client.get(f"/api/v1/charts/{path}", query_string=params, headers=h(user))


def test_distribution_legend_and_curves(client, h, world, measured_month):
    records, flagged = measured_month
    haz = [r["assessment"]["zscores"]["zlen"] for r in records]
    whz = [r["assessment"]["zscores"]["zwfl"] for r in records]
    if not flagged["assessment"]["flags"]["fwfl"] and flagged["assessment"]["zscores"]["zwfl"] is not None:
        whz.append(flagged["assessment"]["zscores"]["zwfl"])  # only its length was implausible
    response = get(client, h, world.staff_a, "z-distribution.svg", level="puskesmas", code="P3525010101",
                   month="2026-10")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = Svg(response.data)
    mean, sd = statistics.mean(haz), statistics.stdev(haz)
    expected = (f"Anak yang diukur (n = 3; rerata {mean:.2f}; SD {sd:.2f})").replace(".", ",").replace("-", "−")
    assert expected in svg.texts("legend_haz")
    mean_w, sd_w = statistics.mean(whz), statistics.stdev(whz)
    assert f"n = {len(whz)}; rerata {mean_w:.2f}".replace(".", ",").replace("-", "−") in " ".join(
        svg.texts("legend_whz"))
    assert "Standar WHO, N(0, 1)" in svg.texts("legend_haz")
    assert "Puskesmas Kebomas (P3525010101) · Oktober 2026" in svg.texts("subtitle")

    x, y = svg.axis("panel_haz", "x"), svg.axis("panel_haz", "y")
    standard = svg.vertices("density_haz_standard")
    for z in (-2.0, 0.0, 1.0):
        assert y_at(standard, float(x.to_svg(z))) == pytest.approx(float(y.to_svg(phi(z))), abs=TOL)
    # the sample curve: Gaussian kernel with R's bw.nrd0, worked out from the three z-scores
    q25, q75 = np.quantile(haz, [0.25, 0.75])
    bw = 0.9 * min(sd, (q75 - q25) / 1.34) * 3 ** -0.2
    sample = svg.vertices("density_haz_sample")
    for z in (mean, -1.0, 0.5):
        f = sum(phi((z - zi) / bw) for zi in haz) / (3 * bw)
        assert y_at(sample, float(x.to_svg(z))) == pytest.approx(float(y.to_svg(f)), abs=TOL)


def test_distribution_png_and_english(client, h, world, measured_month):
    response = get(client, h, world.dinkes_gresik, "z-distribution.png", level="kabupaten", code="35.25",
                   month="2026-10", lang="en")
    assert response.status_code == 200 and response.mimetype == "image/png"
    from PIL import Image
    import io
    image = Image.open(io.BytesIO(response.data))
    assert image.size == (1000, 500)
    svg = Svg(get(client, h, world.dinkes_gresik, "z-distribution.svg", level="kabupaten", code="3525",
                  month="2026-10", lang="en").data)
    texts = " ".join(svg.texts())
    assert "Length/height-for-age (HAZ)" in texts and "WHO standard, N(0, 1)" in texts
    # the kabupaten includes puskesmas B's child: four valid HAZ values
    assert "n = 4;" in " ".join(svg.texts("legend_haz"))


def test_distribution_with_too_few_children(client, h, world):
    svg = Svg(get(client, h, world.kader_a1, "z-distribution.svg", month="2026-10").data)  # her posyandu
    assert svg.texts("density_haz_too_few") == ["Data tidak cukup (n = 0)"]
    assert svg.has("density_haz_standard") and not svg.has("density_haz_sample")


@pytest.fixture
def two_months(world, visit):
    """Puskesmas A: September 2026 two children measured (one stunted: 50%), October four (one
    stunted: 25%)."""
    born = date(2025, 1, 10)
    kids = [factories.child(world.posyandu_a1, f"Anak {i}", birth_date=born, mother_name=f"Ibu {i}")
            for i in range(4)]
    from posyandu.extensions import db
    db.session.commit()
    visit(kids[0], date(2026, 9, 10), weight_kg=8.9, length_cm=74.0, measure_method="lying")
    visit(kids[1], date(2026, 9, 10), weight_kg=10.6, length_cm=84.0, measure_method="lying")
    october = [visit(k, date(2026, 10, 8), weight_kg=w, length_cm=l, measure_method="lying")
               for k, w, l in zip(kids, (9.0, 10.8, 11.0, 10.9), (74.5, 84.5, 85.0, 84.0))]
    assert [r["assessment"]["zscores"]["zlen"] < -2 for r in october] == [True, False, False, False]


def test_trend_points_and_bands(client, h, world, two_months):
    response = get(client, h, world.staff_a, "trend.svg", level="puskesmas", code="P3525010101", month="2026-10")
    assert response.status_code == 200
    svg = Svg(response.data)
    labels = svg.tick_labels("chart_axes", "x")
    assert len(labels) == 12 and labels[0] == "Nov 2025" and labels[-1] == "Okt 2026"
    x, y = svg.axis("chart_axes", "x", ordinal=True), svg.axis("chart_axes", "y")
    # only the months with children measured have points: September (index 10) 50 %, October 25 %
    points = svg.vertices("trend_stunting")
    assert points[:, 0] == pytest.approx([float(x.to_svg(10)), float(x.to_svg(11))], abs=TOL)
    assert points[:, 1] == pytest.approx([float(y.to_svg(50.0)), float(y.to_svg(25.0))], abs=TOL)
    # the 95% band around October's 25 %: below and above it
    band = svg.vertices("trend_stunting_ci")
    at_october = band[np.isclose(band[:, 0], float(x.to_svg(11)), atol=TOL)][:, 1]
    low, high = sorted(float(v) for v in y.to_data(at_october))[::len(at_october) - 1]
    assert low < 25.0 < high
    # the number of children measured above each month
    assert svg.texts("trend_n_10") == ["n=2"] and svg.texts("trend_n_11") == ["n=4"]
    assert svg.texts("trend_n_0") == ["n=0"]
    texts = " ".join(svg.texts("legend"))
    assert "Stunting (TB/U < −2 SD)" in texts and "Wasting (BB/TB < −2 SD)" in texts
    assert "Berat badan kurang (BB/U < −2 SD)" in texts


def test_trend_chart_takes_the_series_as_data():
    """The drawing function on a series given as data (the trend report's rows)."""
    rows = [{"month": "2026-01", "stunting_pct": 20.0, "stunting_ci_low": 15.0, "stunting_ci_high": 26.0,
             "stunting_n": 200, "wasting_pct": None, "wasting_ci_low": None, "wasting_ci_high": None,
             "wasting_n": 0, "underweight_pct": 10.0, "underweight_ci_low": 7.0, "underweight_ci_high": 14.0,
             "underweight_n": 210},
            {"month": "2026-02", "stunting_pct": 18.0, "stunting_ci_low": 13.5, "stunting_ci_high": 23.5,
             "stunting_n": 220, "underweight_pct": 9.0, "underweight_ci_low": 6.0, "underweight_ci_high": 13.0,
             "underweight_n": 220}]
    svg = Svg(render.trend_chart(render.TrendChart.from_rows(rows, lang="en"), "svg"))
    x, y = svg.axis("chart_axes", "x", ordinal=True), svg.axis("chart_axes", "y")
    assert svg.tick_labels("chart_axes", "x") == ["Jan 2026", "Feb 2026"]
    assert svg.vertices("trend_stunting")[:, 1] == pytest.approx([float(y.to_svg(20)), float(y.to_svg(18))], abs=TOL)
    band = svg.vertices("trend_stunting_ci")
    assert float(y.to_data(band[:, 1]).max()) == pytest.approx(26.0, abs=0.02)
    assert float(y.to_data(band[:, 1]).min()) == pytest.approx(13.5, abs=0.02)
    # no wasting figure in either month: nothing drawn for it
    assert not svg.has("trend_wasting") and svg.has("trend_underweight")


@pytest.mark.parametrize("who,level,code", [
    ("kader_a2", "posyandu", "PY-A1"),        # kader of another posyandu
    ("staff_b", "puskesmas", "P3525010101"),  # staff of another puskesmas
    ("dinkes_lamongan", "kabupaten", "35.25"),  # dinkes of another kabupaten
    ("kader_c1", "kabupaten", "35.25"),
    ("staff_a", "puskesmas", "NO-SUCH"),
])
def test_area_outside_scope_is_404(client, h, world, who, level, code):
    for path in ("z-distribution.svg", "trend.png"):
        response = get(client, h, getattr(world, who), path, level=level, code=code, month="2026-10")
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_parents_may_not_fetch_area_charts(client, h, world):
    for path in ("z-distribution.svg", "trend.svg"):
        assert get(client, h, world.parent_1, path, level="posyandu", code="PY-A1").status_code == 403


@pytest.mark.parametrize("path,params,field", [
    ("z-distribution.svg", {"month": "2026-13"}, "month"),
    ("z-distribution.svg", {"month": "2999-01"}, "month"),
    ("z-distribution.svg", {"level": "puskesmas"}, "code"),
    ("z-distribution.svg", {"level": "planet", "code": "x"}, "level"),
    ("z-distribution.gif", {}, "format"),
    ("trend.svg", {"months": 0}, "months"),
    ("trend.svg", {"months": 61}, "months"),
    ("trend.svg", {"lang": "jv"}, "lang"),
])
def test_bad_input_is_422(client, h, world, path, params, field):
    response = get(client, h, world.staff_a, path, **params)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_default_area_and_etag(client, h, world, two_months):
    first = get(client, h, world.staff_a, "trend.svg", month="2026-10")  # staff: their puskesmas
    assert first.status_code == 200
    again = client.get("/api/v1/charts/trend.svg?month=2026-10",
                       headers={**h(world.staff_a), "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    admin = get(client, h, world.admin, "trend.svg", month="2026-10")  # no default area for admins
    assert admin.status_code == 422 and "level" in admin.json["errors"]
