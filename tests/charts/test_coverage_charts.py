"""Coverage bar charts of the immunization-coverage and vitamin-a-breastfeeding reports: bar
lengths read back from the SVG against coverages worked out by hand from small fixtures, the UCI
threshold line and warning colour, scope (404 out of scope, parents 403), bad input, the portal."""
from __future__ import annotations

from datetime import date

import pytest

from posyandu.extensions import db
from tests.charts.svg import Svg
from tests.portal.helpers import sign_in
from tests.reports.coverage_data import IDL_CODES, kid, measure, on_schedule

PUSKESMAS_A = {"level": "puskesmas", "code": "P3525010101"}
TOL = 0.3   # percentage points (SVG coordinates are written with 6 significant digits)


def get(client, h, user, path, **params):
    return client.get(f"/api/v1/charts/{path}", query_string=params, headers=h(user))


@pytest.fixture
def uci_month(world):
    """November 2026, puskesmas A; ages at 30 Nov 2026 in completed months. Desa Giri
    (posyandu A1): U1 (born 10 Mar 2025, 20 m) with the 17 IDL doses at their recommended ages,
    U2 (born 10 Apr 2025, 19 m) with DPT-HB-Hib 1 only -> 1 of 2 = 50 %, below 80 %. Desa
    Kawisanyar (A2): U3 (born 1 Feb 2025, 21 m) with the IDL doses -> 1 of 1 = 100 %. The world's
    children were registered in December: not counted in November."""
    u1 = kid(world.posyandu_a1, "Uci Satu", birth_date=date(2025, 3, 10))
    on_schedule(u1, IDL_CODES)
    u2 = kid(world.posyandu_a1, "Uci Dua", birth_date=date(2025, 4, 10))
    on_schedule(u2, ("DPTHBHIB1",))
    u3 = kid(world.posyandu_a2, "Uci Tiga", sex=2, birth_date=date(2025, 2, 1))
    on_schedule(u3, IDL_CODES)
    db.session.commit()


@pytest.fixture
def vitamin_month(world):
    """August 2026 (a vitamin A month), puskesmas A, breakdown by posyandu; ages at 31 Aug 2026.
    Posyandu A1: four children born 15 Jan 2024 (31 m), three recorded with vitamin A in August
    and one without -> 3 of 4 = 75 %; infants B1 (born 10 May 2026) answered 'exclusively
    breastfed' yes on 11 Aug, B2 (born 10 Apr 2026) no on 12 Aug -> 1 of 2 asked = 50 %.
    Posyandu A2: two children born 15 Jan 2025 (19 m), one given vitamin A -> 50 %; no infant
    asked -> no exclusive breastfeeding bar."""
    for i, given in enumerate((True, True, True, False)):
        measure(kid(world.posyandu_a1, f"Vita {i}", birth_date=date(2024, 1, 15)), date(2026, 8, 10 + i),
                vitamin_a=given)
    for i, given in enumerate((True, False)):
        measure(kid(world.posyandu_a2, f"Vita A2 {i}", birth_date=date(2025, 1, 15)), date(2026, 8, 5),
                vitamin_a=given)
    measure(kid(world.posyandu_a1, "Bayi Satu", birth_date=date(2026, 5, 10)), date(2026, 8, 11),
            exclusive_breastfeeding=True)
    measure(kid(world.posyandu_a1, "Bayi Dua", sex=2, birth_date=date(2026, 4, 10)), date(2026, 8, 12),
            exclusive_breastfeeding=False)
    db.session.commit()


def bar_span(svg: Svg, gid: str) -> tuple[float, float]:
    """The bar's x extent in data units (percent), read through the x axis' own tick labels."""
    x = svg.axis("chart_axes", "x")
    vertices = svg.vertices(gid)
    low, high = x.to_data(vertices[:, 0].min()), x.to_data(vertices[:, 0].max())
    return float(low), float(high)


def fill_of(svg: Svg, gid: str) -> str:
    path = next(p for p in svg.group(gid).iter("{http://www.w3.org/2000/svg}path"))
    return path.get("style", "")


def test_immunization_bars_and_uci_threshold(client, h, world, uci_month):
    response = get(client, h, world.staff_a, "immunization-coverage.svg", **PUSKESMAS_A, month="2026-11")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["ETag"]
    svg = Svg(response.data)
    assert svg.tick_labels("chart_axes", "y") == ["Giri", "Kawisanyar"]
    giri, kawisanyar = bar_span(svg, "bar_idl_0"), bar_span(svg, "bar_idl_1")
    assert giri[0] == pytest.approx(0, abs=TOL) and giri[1] == pytest.approx(50.0, abs=TOL)
    assert kawisanyar[1] == pytest.approx(100.0, abs=TOL)
    assert "#ef6c00" in fill_of(svg, "bar_idl_0")         # below 80 %: warning colour
    assert "#2e7d32" in fill_of(svg, "bar_idl_1")
    x = svg.axis("chart_axes", "x")
    line = svg.vertices("threshold")
    assert float(x.to_data(line[:, 0].min())) == pytest.approx(80.0, abs=TOL)
    assert float(x.to_data(line[:, 0].max())) == pytest.approx(80.0, abs=TOL)
    texts = " ".join(svg.texts())
    assert "Batas UCI 80 %" in texts and "50,0 %" in texts
    assert "Puskesmas Kebomas (P3525010101) · November 2026" in svg.texts("subtitle")
    again = client.get("/api/v1/charts/immunization-coverage.svg",
                       query_string={**PUSKESMAS_A, "month": "2026-11"},
                       headers={**h(world.staff_a), "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_immunization_png_and_english(client, h, world, uci_month):
    png = get(client, h, world.dinkes_gresik, "immunization-coverage.png", **PUSKESMAS_A, month="2026-11")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = Svg(get(client, h, world.staff_a, "immunization-coverage.svg", **PUSKESMAS_A, month="2026-11",
                  lang="en").data)
    texts = " ".join(svg.texts())
    assert "UCI threshold 80 %" in texts and "50.0 %" in texts and "Coverage (%)" in texts


def test_vitamin_a_and_breastfeeding_bars(client, h, world, vitamin_month):
    response = get(client, h, world.staff_a, "vitamin-a-breastfeeding.svg", **PUSKESMAS_A, month="2026-08")
    assert response.status_code == 200
    svg = Svg(response.data)
    assert svg.tick_labels("chart_axes", "y") == ["Posyandu Melati", "Posyandu Mawar"]
    assert bar_span(svg, "bar_vitamin_a_0")[1] == pytest.approx(75.0, abs=TOL)
    assert bar_span(svg, "bar_vitamin_a_1")[1] == pytest.approx(50.0, abs=TOL)
    assert bar_span(svg, "bar_exclusive_breastfeeding_0")[1] == pytest.approx(50.0, abs=TOL)
    assert not svg.has("bar_exclusive_breastfeeding_1") and svg.has("bar_exclusive_breastfeeding_1_none")
    assert not svg.has("threshold")
    legend = " ".join(svg.texts("legend"))
    assert "Cakupan vitamin A 6-59 bulan (%)" in legend and "ASI eksklusif 0-5 bulan (%)" in legend
    english = Svg(get(client, h, world.staff_a, "vitamin-a-breastfeeding.svg", **PUSKESMAS_A, month="2026-08",
                      lang="en").data)
    assert "Vitamin A coverage 6-59 months (%)" in " ".join(english.texts("legend"))


@pytest.mark.parametrize("who,level,code", [
    ("kader_a2", "posyandu", "PY-A1"),        # kader of another posyandu
    ("staff_b", "puskesmas", "P3525010101"),  # staff of another puskesmas
    ("dinkes_lamongan", "kabupaten", "35.25"),  # dinkes of another kabupaten
    ("staff_a", "puskesmas", "NO-SUCH"),
])
def test_area_outside_scope_is_404(client, h, world, who, level, code):
    for path in ("immunization-coverage.svg", "vitamin-a-breastfeeding.png"):
        response = get(client, h, getattr(world, who), path, level=level, code=code, month="2026-10")
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_parents_may_not_fetch_coverage_charts(client, h, world):
    for path in ("immunization-coverage.svg", "vitamin-a-breastfeeding.svg"):
        assert get(client, h, world.parent_1, path, level="posyandu", code="PY-A1").status_code == 403


@pytest.mark.parametrize("path,params,field", [
    ("immunization-coverage.svg", {"month": "2026-13"}, "month"),
    ("immunization-coverage.svg", {"month": "2999-01"}, "month"),
    ("immunization-coverage.gif", {}, "format"),
    ("vitamin-a-breastfeeding.svg", {"level": "puskesmas"}, "code"),
    ("vitamin-a-breastfeeding.svg", {"lang": "jv"}, "lang"),
])
def test_bad_input_is_422(client, h, world, path, params, field):
    response = get(client, h, world.staff_a, path, **params)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_portal_report_pages_show_the_charts(client, world, uci_month):
    sign_in(client, world.staff_a)
    for kind in ("immunization-coverage", "vitamin-a-breastfeeding"):
        page = client.get(f"/portal/reports/{kind}")
        assert page.status_code == 200
        assert f"/portal/charts/{kind}.svg" in page.get_data(as_text=True)
        chart = client.get(f"/portal/charts/{kind}.svg?level=puskesmas&code=P3525010101&month=2026-11")
        assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
        assert Svg(chart.data).has("chart_axes")
    assert client.get("/portal/charts/immunization-coverage.svg?level=puskesmas&code=P3525020101").status_code == 404
