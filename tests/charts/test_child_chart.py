"""A child's KMS-style chart, checked on the picture: the SVG's curves against the LMS table rows
(read from the package's CSV files) and hand formulas, the child's points against the values
measured, flagged values drawn apart, the KMS red line against the BGM rule; PNG size and content.

Positions are compared in SVG units through the mapping the axes' own labelled ticks give
(tests/charts/svg.py), with a tolerance of 0.3 units (a fraction of a pixel: about 0.02 kg).
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pytest
from PIL import Image

from posyandu.core.growth.rules import default_rules
from tests.charts.conftest import DAYS_PER_MONTH, at_z, lms
from tests.charts.svg import Svg, y_at

TOL = 0.3  # SVG units (1/72 inch)
BOY_BIRTH = date(2024, 3, 15)  # world.child_a1


def chart(client, h, user, child, indicator="weight-for-age", fmt="svg", **params):
    response = client.get(f"/api/v1/children/{child.id}/charts/{indicator}.{fmt}", query_string=params,
                          headers=h(user))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def svg_of(client, h, user, child, indicator="weight-for-age", **params) -> Svg:
    response = chart(client, h, user, child, indicator, **params)
    assert response.mimetype == "image/svg+xml"
    return Svg(response.data)


def curve_y(svg: Svg, gid: str, x_axis, x_value: float) -> float:
    return y_at(svg.vertices(gid), float(x_axis.to_svg(x_value)))


@pytest.mark.parametrize("day", [61, 183, 365, 700])
def test_weight_for_age_curves_pass_through_the_table(client, h, world, day):
    svg = svg_of(client, h, world.kader_a1, world.child_a1, view="0-24")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("weight_for_age.csv", 1, day)
    months = day / DAYS_PER_MONTH
    assert curve_y(svg, "sd_0", x, months) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    for gid, z in (("sd_m2", -2), ("sd_p2", 2), ("sd_m3", -3), ("sd_p1", 1), ("sd_p3", 3)):
        assert curve_y(svg, gid, x, months) == pytest.approx(float(y.to_svg(at_z(l, m, s, z))), abs=TOL), gid
    # the KMS lines of rules_id.json (-3 and +1 SD): red on the -3 SD curve, orange on +1 SD
    assert curve_y(svg, "kms_red_line", x, months) == pytest.approx(float(y.to_svg(at_z(l, m, s, -3))), abs=TOL)
    assert curve_y(svg, "kms_orange_line", x, months) == pytest.approx(float(y.to_svg(at_z(l, m, s, 1))), abs=TOL)


def test_girls_chart_uses_the_girls_table_and_colours(client, h, world):
    # world.child_a2 is a girl born 2023-07-01; 0-24 view, day 61
    svg = svg_of(client, h, world.staff_a, world.child_a2, view="0-24")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("weight_for_age.csv", 2, 61)
    assert curve_y(svg, "sd_0", x, 61 / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    assert curve_y(svg, "sd_m2", x, 61 / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(at_z(l, m, s, -2))), abs=TOL)
    assert "Perempuan" in " ".join(svg.texts("title"))
    background = svg.root.find(".//{http://www.w3.org/2000/svg}g[@id='figure_1']//{http://www.w3.org/2000/svg}path")
    assert "#fde7ef" in background.get("style")  # pink paper (boys: #e6f0fb)


def test_points_sit_at_the_measured_values(client, h, world, visit):
    days = [31, 92, 183, 275, 365, 540]
    weights = [4.6, 6.3, 7.6, 8.4, 9.1, 9.9]
    for day, kg in zip(days, weights):
        visit(world.child_a1, BOY_BIRTH + timedelta(days=day), weight_kg=kg)
    svg = svg_of(client, h, world.kader_a1, world.child_a1)  # auto view: all under 24 months -> 0-24
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    assert x.to_data(x.to_svg(24)) == pytest.approx(24)
    markers = svg.markers("child_line")
    assert len(markers) == len(days)
    expected = [(float(x.to_svg(d / DAYS_PER_MONTH)), float(y.to_svg(kg))) for d, kg in zip(days, weights)]
    for (px, py), (ex, ey) in zip(sorted(markers.tolist()), expected):
        assert px == pytest.approx(ex, abs=TOL) and py == pytest.approx(ey, abs=TOL)
    # the points are connected by one line through the same vertices
    line = svg.vertices("child_line")
    assert line.shape == (len(days), 2)
    assert np.ravel(sorted(line.tolist())) == pytest.approx(np.ravel(sorted(expected)), abs=TOL)
    # the x axis runs over 0-24 months
    ticks = svg.tick_labels("chart_axes", "x")
    assert ticks[0] == "0" and ticks[-1] == "24"


def test_flagged_value_is_drawn_apart_and_marked(client, h, world, visit):
    visit(world.child_a1, BOY_BIRTH + timedelta(days=31), weight_kg=4.6)
    flagged = visit(world.child_a1, BOY_BIRTH + timedelta(days=61), weight_kg=10.0)
    visit(world.child_a1, BOY_BIRTH + timedelta(days=92), weight_kg=6.3)
    assert flagged["assessment"]["flags"]["fwei"] is True  # WAZ > +5: implausible (stored assessment)
    svg = svg_of(client, h, world.kader_a1, world.child_a1)
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    assert len(svg.markers("child_line")) == 2
    # the connecting line skips the flagged value
    line_x = sorted(svg.vertices("child_line")[:, 0])
    assert line_x == pytest.approx([float(x.to_svg(31 / DAYS_PER_MONTH)), float(x.to_svg(92 / DAYS_PER_MONTH))],
                                   abs=TOL)
    [(fx, fy)] = svg.markers("child_flagged").tolist()
    assert fx == pytest.approx(float(x.to_svg(61 / DAYS_PER_MONTH)), abs=TOL)
    assert fy == pytest.approx(float(y.to_svg(10.0)), abs=TOL)
    assert svg.texts("child_flagged_label_0") == ["ukur ulang"]
    # a different marker from the valid points' (another <path> definition)
    valid_ref = svg.group("child_line").find(".//{http://www.w3.org/2000/svg}use").get(
        "{http://www.w3.org/1999/xlink}href")
    flagged_ref = svg.group("child_flagged").find(".//{http://www.w3.org/2000/svg}use").get(
        "{http://www.w3.org/1999/xlink}href")
    assert valid_ref != flagged_ref
    assert any("ukur ulang" in t for t in svg.texts("legend"))


def test_flagged_value_beyond_the_axis_is_clipped_and_says_its_value(client, h, world, visit):
    visit(world.child_a1, BOY_BIRTH + timedelta(days=61), weight_kg=5.4)
    visit(world.child_a1, BOY_BIRTH + timedelta(days=275), weight_kg=35.0)
    svg = svg_of(client, h, world.kader_a1, world.child_a1)
    assert svg.texts("child_flagged_label_0") == ["ukur ulang (35,0)"]
    y = svg.axis("chart_axes", "y")
    [(_, fy)] = svg.markers("child_flagged").tolist()
    assert float(y.to_data(fy)) < 20  # at the top of the axis, not at 35 kg


def test_red_line_separates_bgm_as_the_bgm_rule_decides(client, h, world, visit):
    """Two weighings a little below and a little above the -3 SD weight (by hand from the table
    rows): the stored BGM flag and the side of the red line agree."""
    below_day, above_day = 365, 396
    l, m, s = lms("weight_for_age.csv", 1, below_day)
    below = visit(world.child_a1, BOY_BIRTH + timedelta(days=below_day), weight_kg=round(at_z(l, m, s, -3) - 0.05, 2))
    l2, m2, s2 = lms("weight_for_age.csv", 1, above_day)
    above = visit(world.child_a1, BOY_BIRTH + timedelta(days=above_day), weight_kg=round(at_z(l2, m2, s2, -3) + 0.05, 2))
    assert below["assessment"]["bgm"] is True and above["assessment"]["bgm"] is False
    svg = svg_of(client, h, world.kader_a1, world.child_a1)
    x = svg.axis("chart_axes", "x")
    red = svg.vertices("kms_red_line")
    for record, (px, py) in zip((below, above), sorted(svg.markers("child_line").tolist())):
        line_y = y_at(red, px)
        # SVG y grows downwards: below the line means a larger y
        assert (py > line_y) is record["assessment"]["bgm"]
    assert sorted(svg.markers("child_line")[:, 0]) == pytest.approx(
        [float(x.to_svg(below_day / DAYS_PER_MONTH)), float(x.to_svg(above_day / DAYS_PER_MONTH))], abs=TOL)


def test_red_and_orange_lines_come_from_the_rule_set(client, h, world, monkeypatch):
    """The lines follow rules_id.json's kms_red_line_z / kms_orange_line_z (here moved to -2.5
    and +2 in a copy of the rule set): the red line at -2.5 SD, half-way between the -3 and -2
    SD values of the LMS formula at z = -2.5."""
    from posyandu.charts import operations
    from posyandu.core.growth.rules import Rules

    data = _thaw(default_rules().data)
    data["settings"]["kms_red_line_z"]["value"] = -2.5
    data["settings"]["kms_orange_line_z"]["value"] = 2.0
    rules = Rules(data)
    monkeypatch.setattr(operations, "default_rules", lambda: rules)
    svg = svg_of(client, h, world.kader_a1, world.child_a1, view="0-24")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("weight_for_age.csv", 1, 365)
    months = 365 / DAYS_PER_MONTH
    assert curve_y(svg, "kms_red_line", x, months) == pytest.approx(float(y.to_svg(at_z(l, m, s, -2.5))), abs=TOL)
    assert curve_y(svg, "kms_orange_line", x, months) == pytest.approx(float(y.to_svg(at_z(l, m, s, 2))), abs=TOL)
    legend = " ".join(svg.texts("legend"))
    assert "BB/U −2,5 SD" in legend and "BB/U +2 SD" in legend


def _thaw(value):
    from types import MappingProxyType
    if isinstance(value, (dict, MappingProxyType)):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


@pytest.mark.parametrize("day", [400, 700])
def test_length_for_age_under_two_uses_lying_length(client, h, world, day):
    svg = svg_of(client, h, world.kader_a1, world.child_a1, "length-for-age", view="0-24")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("length_height_for_age.csv", 1, day)
    assert curve_y(svg, "sd_0", x, day / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    assert curve_y(svg, "sd_m2", x, day / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m * (1 - 2 * s))), abs=TOL)
    assert "Panjang Badan menurut Umur (PB/U)" in " ".join(svg.texts("title"))


def test_length_for_age_curves_break_at_24_months(client, h, world, visit):
    """0-60 view: the curves change from lying length to standing height at day 731, drawn as two
    pieces (no segment joins day 730 to day 731), each through its own table row."""
    visit(world.child_a1, BOY_BIRTH + timedelta(days=365), weight_kg=9.5, length_cm=75.5, measure_method="lying")
    visit(world.child_a1, BOY_BIRTH + timedelta(days=950), weight_kg=13.5, length_cm=93.0,
          measure_method="standing")
    svg = svg_of(client, h, world.kader_a1, world.child_a1, "length-for-age")  # auto: spans both -> 0-60
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    pieces = svg.subpaths("sd_0")
    assert len(pieces) == 2
    assert max(pieces[0][:, 0]) < float(x.to_svg(24)) < min(pieces[1][:, 0])
    for day, piece in ((365, pieces[0]), (950, pieces[1])):
        _, m, _ = lms("length_height_for_age.csv", 1, day)
        assert y_at(piece, float(x.to_svg(day / DAYS_PER_MONTH))) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    markers = sorted(svg.markers("child_line").tolist())
    assert markers[0][1] == pytest.approx(float(y.to_svg(75.5)), abs=TOL)
    assert markers[1][1] == pytest.approx(float(y.to_svg(93.0)), abs=TOL)
    assert "60" in svg.tick_labels("chart_axes", "x")


def test_weight_for_length_is_drawn_on_length(client, h, world, visit):
    record = visit(world.child_a1, BOY_BIRTH + timedelta(days=365), weight_kg=9.4, length_cm=75.0,
                   measure_method="lying")
    assert record["assessment"]["clenhei"] == 75.0
    svg = svg_of(client, h, world.kader_a1, world.child_a1, "weight-for-length")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("weight_for_length.csv", 1, "75")
    assert curve_y(svg, "sd_0", x, 75.0) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    assert curve_y(svg, "sd_m2", x, 75.0) == pytest.approx(float(y.to_svg(at_z(l, m, s, -2))), abs=TOL)
    [(px, py)] = svg.markers("child_line").tolist()
    assert (px, py) == pytest.approx((float(x.to_svg(75.0)), float(y.to_svg(9.4))), abs=TOL)
    assert "Panjang badan (cm)" in svg.texts("chart_axes")
    assert float(x.to_data(svg.vertices("sd_0")[:, 0].min())) == pytest.approx(45.0, abs=0.05)


def test_weight_for_height_from_two_years(client, h, world, visit):
    # world.child_b1: boy born 2022-01-20; 2024-06-20 is day 882
    visit(world.child_b1, date(2024, 6, 20), weight_kg=12.8, length_cm=90.5, measure_method="standing")
    svg = svg_of(client, h, world.staff_b, world.child_b1, "weight-for-length")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    l, m, s = lms("weight_for_height.csv", 1, "90.5")
    assert curve_y(svg, "sd_0", x, 90.5) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    assert "Berat Badan menurut Tinggi Badan (BB/TB)" in " ".join(svg.texts("title"))
    [(px, py)] = svg.markers("child_line").tolist()
    assert (px, py) == pytest.approx((float(x.to_svg(90.5)), float(y.to_svg(12.8))), abs=TOL)


def test_head_circumference(client, h, world, visit):
    visit(world.child_a1, BOY_BIRTH + timedelta(days=183), weight_kg=7.8, head_circumference_cm=43.5)
    svg = svg_of(client, h, world.kader_a1, world.child_a1, "head-circumference-for-age")
    x, y = svg.axis("chart_axes", "x"), svg.axis("chart_axes", "y")
    _, m, s = lms("head_circumference_for_age.csv", 1, 183)
    assert curve_y(svg, "sd_0", x, 183 / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    assert curve_y(svg, "sd_p2", x, 183 / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m * (1 + 2 * s))), abs=TOL)
    [(_, py)] = svg.markers("child_line").tolist()
    assert py == pytest.approx(float(y.to_svg(43.5)), abs=TOL)


def test_english_labels(client, h, world):
    svg = svg_of(client, h, world.kader_a1, world.child_a1, lang="en")
    texts = " ".join(svg.texts())
    assert "Weight-for-age" in texts and "Boys" in texts and "Age (months)" in texts
    assert "Berat" not in texts


def test_indonesian_by_default_and_the_account_language(client, h, world):
    svg = svg_of(client, h, world.kader_a1, world.child_a1)
    texts = " ".join(svg.texts())
    assert "Berat Badan menurut Umur (BB/U)" in texts and "Laki-laki" in texts and "Umur (bulan)" in texts
    assert "Garis merah (BB/U −3 SD): di bawahnya BGM" in texts
    world.kader_a1.language = "en"
    from posyandu.extensions import db
    db.session.commit()
    assert "Weight-for-age" in " ".join(svg_of(client, h, world.kader_a1, world.child_a1).texts())
    assert "Berat Badan" in " ".join(svg_of(client, h, world.kader_a1, world.child_a1, lang="id").texts())


def test_views(client, h, world, visit):
    visit(world.child_b1, date(2024, 6, 20), weight_kg=12.8)  # child_b1 is 29 months old then
    svg = svg_of(client, h, world.staff_b, world.child_b1)
    ticks = svg.tick_labels("chart_axes", "x")
    assert ticks[0] == "24" and ticks[-1] == "60"  # auto -> 24-60
    x = svg.axis("chart_axes", "x")
    l, m, s = lms("weight_for_age.csv", 1, 1000)
    y = svg.axis("chart_axes", "y")
    assert curve_y(svg, "sd_0", x, 1000 / DAYS_PER_MONTH) == pytest.approx(float(y.to_svg(m)), abs=TOL)
    whole = svg_of(client, h, world.staff_b, world.child_b1, view="0-60")
    ticks = whole.tick_labels("chart_axes", "x")
    assert ticks[0] == "0" and ticks[-1] == "60"


def test_child_name_with_markup_characters_is_text(client, h, world):
    world.child_a1.name = "Dewi <b>$x$</b> & Sari"
    from posyandu.extensions import db
    db.session.commit()
    svg = svg_of(client, h, world.kader_a1, world.child_a1)
    assert svg.texts("subtitle")[0].startswith("Dewi <b>$x$</b> & Sari")
    assert chart(client, h, world.kader_a1, world.child_a1, fmt="png").status_code == 200


def test_png_size_and_content(client, h, world, visit):
    for day, kg in ((31, 4.5), (92, 6.2), (183, 7.4)):
        visit(world.child_a1, BOY_BIRTH + timedelta(days=day), weight_kg=kg)
    response = chart(client, h, world.parent_1, world.child_a1, fmt="png")
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    assert image.size == (800, 600)
    colours = image.getcolors(maxcolors=1_000_000)
    assert len(colours) > 200  # anti-aliased lines, bands, text: far from blank
    by_colour = {rgb: n for n, rgb in colours}
    total = 800 * 600
    assert by_colour.get((0xe6, 0xf0, 0xfb), 0) > 0.1 * total   # boys' blue paper
    assert by_colour.get((0xb3, 0xdf, 0xa0), 0) > 0.02 * total  # the green band around the median
    assert by_colour.get((0xff, 0xf1, 0xa8), 0) > 0.01 * total  # the yellow bands
    # the red line's colour is there
    assert by_colour.get((0xd3, 0x2f, 0x2f), 0) > 100
