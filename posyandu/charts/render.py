"""Drawing the charts with matplotlib (Agg and SVG canvases; no display, no pyplot).

Pure presentation: the inputs are plain values (no Flask, no SQLAlchemy), the outputs are the
bytes of an SVG or PNG file. Three pictures:

* :func:`child_chart` -- a KMS-style chart of one child and one indicator: the WHO curves at
  -3 ... +3 SD from the package's LMS tables (``core.growth.curves``), the bands of
  ``data/kms_style.json``, the KMS red and orange lines at the z of the rule set (BB/U only),
  the child's valid measurements as connected points, implausible (flagged) values as separate
  crosses marked "ukur ulang";
* :func:`distribution_chart` -- the density of an area's HAZ and WHZ against N(0, 1), as WHO's
  Anthro Survey Analyser draws it (``core.density``);
* :func:`trend_chart` -- monthly prevalence of stunting, wasting and underweight with 95% CI bands.

Every artist a test or a client may look for has an SVG id (``set_gid``): ``sd_m3`` ... ``sd_0``
... ``sd_p3``, ``kms_red_line``, ``kms_orange_line``, ``band_<name>``, ``child_line`` (valid
points), ``child_flagged`` and ``child_flagged_label_<i>``, ``child_oedema``; ``density_haz_sample``,
``density_haz_standard``; ``trend_stunting``, ``trend_stunting_ci``. Text is written as SVG
``<text>`` (``svg.fonttype = none``), so tick labels can be read back from the file.

Matplotlib's global state (rcParams, font cache) is not thread-safe: every drawing holds one
module lock. matplotlib is imported on first use (about 1 s), not when the app starts.
"""
from __future__ import annotations

import io
import json
import math
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import numpy as np

from ..core import density
from ..core.growth import curves as _curves
from . import labels

#: Part of every ETag: bump when a picture changes for the same data.
RENDERER_VERSION = "charts-1"
MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
CHILD_FIGSIZE = (8.0, 6.0)        # inches: SVG 576 x 432 pt, PNG 800 x 600 px
DISTRIBUTION_FIGSIZE = (10.0, 5.0)
TREND_FIGSIZE = (9.0, 5.0)
PNG_DPI = 100

#: Chart indicators (API names in ``operations.INDICATORS``): wfa, lhfa, wfl, hcfa.
AGE_INDICATORS = ("wfa", "lhfa", "hcfa")
#: Age views: (first day, last day, x from, x to in months). Day 731 (24.02 months) is the
#: first day of the standing (height) table, so 0-24 ends at 730 and 24-60 starts at 731.
AGE_VIEWS = {"0-24": (0, 730, 0.0, 24.0), "24-60": (731, 1826, 24.0, 60.0), "0-60": (0, 1826, 0.0, 60.0)}
#: The weight-for-length chart is drawn on length: 0-24 uses the BB/PB table, 24-60 BB/TB.
WFL_VIEWS = {"0-24": "wfl", "24-60": "wfh"}
SPLIT_DAY = 731

_RC = {
    "svg.fonttype": "none",          # text as <text>, not glyph paths: smaller, searchable
    "svg.hashsalt": "posyandu-charts",  # stable element ids: the same data gives the same bytes
    "path.simplify": True,
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.unicode_minus": True,
    "axes.linewidth": 0.8,
}
_LOCK = threading.Lock()


def _sd_gid(z: float) -> str:
    z = int(round(z))
    return "sd_0" if z == 0 else (f"sd_p{z}" if z > 0 else f"sd_m{-z}")


@lru_cache(maxsize=1)
def kms_style() -> dict:
    text = resources.files(__package__).joinpath("data", "kms_style.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _matplotlib():
    import matplotlib
    matplotlib.use("Agg", force=False)
    # set once for the process (no rc_context per chart: it deep-copies rcParams, ~15 ms);
    # nothing else in the application draws with matplotlib
    matplotlib.rcParams.update(_RC)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator
    return dict(FigureCanvasAgg=FigureCanvasAgg, Figure=Figure, Line2D=Line2D,
                Patch=Patch, FuncFormatter=FuncFormatter, MaxNLocator=MaxNLocator,
                MultipleLocator=MultipleLocator)


# ---------------------------------------------------------------------------------------------
# child charts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChildPoint:
    """One measurement on a chart: ``x`` is the age in days (age charts) or the length/height
    in cm (weight-for-length/height); ``y`` the measured value; ``status`` ``ok`` (drawn and
    connected), ``flagged`` (WHO implausible flag: drawn apart, "ukur ulang") or ``oedema``
    (weight not assessed: drawn apart)."""

    age_days: int
    x: float
    y: float
    status: str = "ok"


@dataclass(frozen=True)
class ChildChart:
    """Everything a child chart shows (hashable: it is the cache key)."""

    indicator: str           # wfa | lhfa | wfl | hcfa
    view: str                # 0-24 | 24-60 | 0-60 (0-60 not for wfl)
    sex: int                 # 1 boy, 2 girl
    points: tuple[ChildPoint, ...]
    lang: str = "id"
    name: str | None = None
    birth_date: date | None = None
    red_line_z: float = -3.0
    orange_line_z: float = 1.0
    rules_version: str = ""


def chart_title_key(indicator: str, view: str) -> str:
    if indicator == "wfl":
        return "title." + WFL_VIEWS[view]
    if indicator == "lhfa":
        return {"0-24": "title.lfa", "24-60": "title.hfa"}.get(view, "title.lhfa")
    return "title." + indicator


def _y_axis_key(indicator: str, view: str) -> str:
    if indicator in ("wfa", "wfl"):
        return "axis.weight"
    if indicator == "hcfa":
        return "axis.head"
    return {"0-24": "axis.length", "24-60": "axis.height"}.get(view, "axis.lenhei")


@lru_cache(maxsize=64)
def chart_curves(indicator: str, sex: int, view: str, extra_zs: tuple = ()) -> tuple[np.ndarray, dict]:
    """(x on the chart's axis, {z: values}) for the SD lines and ``extra_zs`` (the KMS lines).
    Age charts: x in months (days / 30.4375); a NaN row between days 730 and 731 breaks the
    length-for-age curves where the table changes from lying length to standing height."""
    zs = tuple(sorted(set(_curves.SD_LINES) | set(extra_zs)))
    if indicator == "wfl":
        c = _curves.length_curves(WFL_VIEWS[view], sex, zs)
        return c.x, c.values
    first, last, _, _ = AGE_VIEWS[view]
    c = _curves.age_curves(indicator, sex, first, last, zs)
    x = c.x / _curves.DAYS_PER_MONTH
    values = dict(c.values)
    if indicator == "lhfa" and first < SPLIT_DAY <= last:
        at = int(np.searchsorted(c.x, SPLIT_DAY))
        x = np.insert(x, at, np.nan)
        values = {z: np.insert(v, at, np.nan) for z, v in values.items()}
    for v in values.values():
        v.flags.writeable = False
    x.flags.writeable = False
    return x, values


#: Vertices per band edge: filled paths are not simplified by matplotlib, and a daily table
#: would write ~40 kB per band into the SVG; a chord every ~1/150 of the width is off the
#: curve by far less than a pixel (the SD lines themselves keep every table row).
BAND_VERTICES = 150


@lru_cache(maxsize=64)
def _band_rows_cached(n: int, breaks: tuple) -> np.ndarray:
    step = max(1, n // BAND_VERTICES)
    rows = set(range(0, n, step)) | {n - 1}
    for b in breaks:
        rows |= {b - 1, b, b + 1}
    return np.array(sorted(r for r in rows if 0 <= r < n))


def _band_rows(x: np.ndarray) -> np.ndarray:
    return _band_rows_cached(len(x), tuple(int(i) for i in np.flatnonzero(np.isnan(x))))


def points_in_view(indicator: str, view: str, points) -> list[ChildPoint]:
    """The points a view shows: ages inside an age view; for weight-for-length/height the
    points scored on that view's table (< 731 days: BB/PB, from 731 days: BB/TB) inside its
    length range."""
    if indicator == "wfl":
        table = WFL_VIEWS[view]
        lo, hi = (45.0, 110.0) if table == "wfl" else (65.0, 120.0)
        young = table == "wfl"
        return [p for p in points if (p.age_days < SPLIT_DAY) == young and lo <= p.x <= hi]
    first, last, _, _ = AGE_VIEWS[view]
    return [p for p in points if first <= p.age_days <= last]


def child_chart(chart: ChildChart, fmt: str) -> bytes:
    """The chart as SVG or PNG bytes."""
    with _LOCK:
        mpl = _matplotlib()
        fig = _child_figure(chart, mpl)
        return _save(fig, fmt, mpl)


def _x_of(indicator: str, p: ChildPoint) -> float:
    return p.x if indicator == "wfl" else p.age_days / _curves.DAYS_PER_MONTH


def _child_figure(chart: ChildChart, mpl):
    style = kms_style()
    lang, indicator, view = chart.lang, chart.indicator, chart.view
    colours = style["sex"][str(chart.sex)]
    kms = indicator == "wfa"
    extra = (chart.red_line_z, chart.orange_line_z) if kms else ()
    x, values = chart_curves(indicator, chart.sex, view, extra)

    fig = mpl["Figure"](figsize=CHILD_FIGSIZE, facecolor=colours["paper"])
    mpl["FigureCanvasAgg"](fig)
    ax = fig.add_axes((0.085, 0.15, 0.85, 0.70))
    ax.set_gid("chart_axes")
    ax.set_facecolor("#ffffff")

    keep = _band_rows(x)
    for band in style["bands"]:
        ax.fill_between(x[keep], values[float(band["z_low"])][keep], values[float(band["z_high"])][keep],
                        color=band["color"], linewidth=0, zorder=0.5, gid=f"band_{band['name']}")
    for z in _curves.SD_LINES:
        line = style["sd_lines"][str(abs(z))]
        ax.plot(x, values[float(z)], color=line["color"], linewidth=line["width"], zorder=2, gid=_sd_gid(z))
    handles = [mpl["Line2D"]([], [], color=style["sd_lines"]["0"]["color"], linewidth=1.6,
                             label=labels.text("legend.median", lang))]
    if kms:
        for key, z, gid in (("red", chart.red_line_z, "kms_red_line"), ("orange", chart.orange_line_z,
                                                                       "kms_orange_line")):
            line = style["kms_lines"][key]
            ax.plot(x, values[float(z)], color=line["color"], linewidth=line["width"], zorder=2.5, gid=gid)
            handles.append(mpl["Line2D"]([], [], color=line["color"], linewidth=line["width"],
                                         label=labels.text(f"legend.{key}", lang, z=labels.signed(z, lang))))

    shown = points_in_view(indicator, view, chart.points)
    ok = sorted((p for p in shown if p.status == "ok"), key=lambda p: p.age_days)
    odd = sorted((p for p in shown if p.status != "ok"), key=lambda p: p.age_days)

    # axes limits: the curves, the lines and the valid points; odd points are clipped to them
    finite = [v[np.isfinite(v)] for v in values.values()]
    y_lo = min(float(v.min()) for v in finite)
    y_hi = max(float(v.max()) for v in finite)
    if ok:
        y_lo = min(y_lo, min(p.y for p in ok))
        y_hi = max(y_hi, max(p.y for p in ok))
    pad = 0.04 * (y_hi - y_lo)
    y_lo, y_hi = max(0.0, y_lo - pad), y_hi + pad
    if indicator == "wfl":
        x_lo, x_hi = float(x[0]), float(x[-1])
    else:
        _, _, x_lo, x_hi = AGE_VIEWS[view]
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)

    child_colour = colours["child"]
    if ok:
        ax.plot([_x_of(indicator, p) for p in ok], [p.y for p in ok], color=child_colour, linewidth=1.8,
                marker="o", markersize=5, markerfacecolor=child_colour, markeredgecolor="#ffffff",
                markeredgewidth=0.8, zorder=4, gid="child_line")
        handles.append(mpl["Line2D"]([], [], color=child_colour, marker="o", linewidth=1.8, markersize=5,
                                     label=labels.text("legend.child", lang)))
    flagged = [p for p in odd if p.status == "flagged"]
    oedema = [p for p in odd if p.status == "oedema"]
    if flagged:
        f = style["flagged"]
        xs = [_x_of(indicator, p) for p in flagged]
        ys = [min(max(p.y, y_lo), y_hi) for p in flagged]
        ax.plot(xs, ys, linestyle="none", marker=f["marker"], markersize=9, color=f["color"],
                markeredgecolor="#ffffff", markeredgewidth=0.6, zorder=5, clip_on=False, gid="child_flagged")
        for i, (p, px, py) in enumerate(zip(flagged, xs, ys)):
            note = labels.text("mark.flagged", lang)
            if py != p.y:  # clipped: say the value
                note += f" ({labels.number(p.y, 1, lang)})"
            ax.annotate(note, (px, py), xytext=(8, -3), textcoords="offset points", fontsize=7.5, va="center",
                        color=f["label_color"], fontweight="bold", zorder=5, annotation_clip=False,
                        gid=f"child_flagged_label_{i}")
        handles.append(mpl["Line2D"]([], [], linestyle="none", marker=f["marker"], markersize=8, color=f["color"],
                                     label=labels.text("legend.flagged", lang)))
    if oedema:
        o = style["oedema"]
        xs = [_x_of(indicator, p) for p in oedema]
        ys = [min(max(p.y, y_lo), y_hi) for p in oedema]
        ax.plot(xs, ys, linestyle="none", marker=o["marker"], markersize=7, markerfacecolor="none",
                markeredgecolor=o["color"], markeredgewidth=1.4, zorder=5, gid="child_oedema")
        for i, (px, py) in enumerate(zip(xs, ys)):
            ax.annotate(labels.text("mark.oedema", lang), (px, py), xytext=(6, -10), textcoords="offset points",
                        fontsize=7.5, color=o["color"], zorder=5, gid=f"child_oedema_label_{i}")
        handles.append(mpl["Line2D"]([], [], linestyle="none", marker=o["marker"], markerfacecolor="none",
                                     markeredgecolor=o["color"], label=labels.text("legend.oedema", lang)))
    if not shown:
        ax.text(0.5, 0.06, labels.text("no_points", lang), transform=ax.transAxes, ha="center", fontsize=9,
                color="#555555", gid="no_points")

    # SD labels at the right end of each curve
    last = int(np.flatnonzero(np.isfinite(values[0.0]))[-1])
    for z in _curves.SD_LINES:
        y = float(values[float(z)][last])
        if y_lo <= y <= y_hi:
            ax.text(1.005, y, labels.signed(z, lang), transform=ax.get_yaxis_transform(),
                    fontsize=7.5, va="center", ha="left", color=style["sd_lines"][str(abs(z))]["color"],
                    clip_on=False, gid=f"{_sd_gid(z)}_label")

    _age_or_length_ticks(ax, indicator, view, lang, mpl, colours["accent"])
    ax.set_ylabel(labels.text(_y_axis_key(indicator, view), lang))
    ax.yaxis.set_major_locator(mpl["MaxNLocator"](nbins=12, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(_number_formatter(lang, mpl))
    _grid(ax, minor_x=1.0 if indicator == "wfl" or view != "0-60" else 3.0)
    for spine in ax.spines.values():
        spine.set_color(colours["accent"])
    legend = ax.legend(handles=handles, loc="upper left", fontsize=7.5, framealpha=0.92, edgecolor="#bbbbbb")
    legend.set_gid("legend")

    title = f"{labels.text(chart_title_key(indicator, view), lang)} · {labels.text(f'sex.{chart.sex}', lang)}"
    fig.text(0.085, 0.945, title, fontsize=13, fontweight="bold", color=colours["accent"], gid="title")
    sub = []
    if chart.name:
        sub.append(chart.name)
    if chart.birth_date:
        sub.append(labels.text("born", lang, date=labels.long_date(chart.birth_date, lang)))
    if sub:
        fig.text(0.085, 0.905, " · ".join(sub), fontsize=9.5, color="#333333", gid="subtitle")
    _footer(fig, 0.085, labels.text("footer.child", lang, version=chart.rules_version), CHILD_FIGSIZE[0])
    return fig


def _grid(ax, minor_x: float) -> None:
    """Grid lines as two line collections (major, minor) instead of matplotlib's per-tick grid
    and minor ticks: each tick is a few artists with a marker deep-copied, and a chart drawn on
    request should not spend a third of its time on them. Minor lines: every ``minor_x`` on x,
    half-way between major ticks on y."""
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    x_major = [v for v in ax.xaxis.get_majorticklocs() if x_lo <= v <= x_hi]
    y_major = [v for v in ax.yaxis.get_majorticklocs() if y_lo <= v <= y_hi]
    x_minor = [v for v in np.arange(math.ceil(x_lo / minor_x) * minor_x, x_hi + 1e-9, minor_x)
               if not any(abs(v - m) < 1e-9 for m in x_major)]
    step = (y_major[1] - y_major[0]) / 2 if len(y_major) > 1 else None
    y_minor = [v for v in np.arange(y_major[0] - step, y_hi + 1e-9, 2 * step) if y_lo <= v] if step else []
    style = {"colors": "#8c8c8c", "zorder": 1.5}
    ax.vlines(x_major, y_lo, y_hi, linewidths=0.45, alpha=0.45, **style)
    ax.hlines(y_major, x_lo, x_hi, linewidths=0.45, alpha=0.45, **style)
    ax.vlines(x_minor, y_lo, y_hi, linewidths=0.25, alpha=0.3, **style)
    ax.hlines(y_minor, x_lo, x_hi, linewidths=0.25, alpha=0.3, **style)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)


def _footer(fig, left: float, text: str, width_inches: float) -> None:
    """Small print at the bottom, wrapped to the figure's width by character count (matplotlib's
    own ``wrap=True`` measures the text again and again)."""
    import textwrap
    chars = int(width_inches * (1 - 2 * left) * 19)  # ~19 characters per inch at 6.5 pt
    fig.text(left, 0.012, textwrap.fill(text, chars), fontsize=6.5, color="#555555", va="bottom",
             linespacing=1.3, gid="footer")


def _number_formatter(lang: str, mpl):
    def fmt(value, _pos):
        text = f"{value:g}"
        text = text.replace("-", "−")
        return text.replace(".", ",") if lang == "id" else text
    return mpl["FuncFormatter"](fmt)


def _age_or_length_ticks(ax, indicator, view, lang, mpl, accent):
    if indicator == "wfl":
        ax.xaxis.set_major_locator(mpl["MultipleLocator"](5))
        ax.set_xlabel(labels.text("axis.length" if WFL_VIEWS[view] == "wfl" else "axis.height", lang))
    else:
        major = {"0-24": 2, "24-60": 3, "0-60": 6}[view]
        ax.xaxis.set_major_locator(mpl["MultipleLocator"](major))
        ax.set_xlabel(labels.text("axis.age_months", lang))
        _, _, lo, hi = AGE_VIEWS[view]
        for year_end in (12, 24, 36, 48):
            if lo < year_end < hi:
                ax.axvline(year_end, color=accent, linewidth=0.9, alpha=0.55, zorder=1.6)
    ax.xaxis.set_major_formatter(_number_formatter(lang, mpl))
    ax.tick_params(axis="both", labelsize=7.5)


def _save(fig, fmt: str, mpl) -> bytes:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", facecolor=fig.get_facecolor(), metadata={"Date": None})
    elif fmt == "png":
        # rasterise with Agg, then a 256-colour palette PNG: the charts are flat colours and
        # anti-aliased edges, so the palette keeps them (flat colours exactly) at a third of the
        # bytes of an RGBA PNG (~35 kB instead of ~100 kB: a parent's phone on mobile data)
        from PIL import Image
        fig.set_dpi(PNG_DPI)
        canvas = fig.canvas
        canvas.draw()
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        image = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        image.save(buf, format="png", compress_level=6)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# area charts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DistributionChart:
    """z-scores of the children measured in an area and month, per panel (``haz``, ``whz``)."""

    samples: tuple[tuple[str, np.ndarray], ...]   # (("haz", zs), ("whz", zs))
    subtitle: str = ""
    lang: str = "id"


#: Where the density is evaluated (z), and the x range drawn.
DENSITY_GRID = np.linspace(-6.0, 6.0, 481)
DISTRIBUTION_XLIM = (-5.0, 5.0)
MIN_DENSITY_N = 2


def distribution_chart(chart: DistributionChart, fmt: str) -> bytes:
    with _LOCK:
        mpl = _matplotlib()
        fig = _distribution_figure(chart, mpl)
        return _save(fig, fmt, mpl)


def _distribution_figure(chart: DistributionChart, mpl):
    lang = chart.lang
    fig = mpl["Figure"](figsize=DISTRIBUTION_FIGSIZE, facecolor="#ffffff")
    mpl["FigureCanvasAgg"](fig)
    count = len(chart.samples)
    width = 0.84 / count
    standard = density.normal_pdf(DENSITY_GRID)
    for i, (key, zs) in enumerate(chart.samples):
        ax = fig.add_axes((0.07 + i * (width + 0.02), 0.16, width - 0.02, 0.66))
        ax.set_gid(f"panel_{key}")
        z = np.asarray(zs, dtype=float)
        stats = density.summary(z)
        ax.plot(DENSITY_GRID, standard, color="#2e7d32", linewidth=1.6, linestyle="--",
                label=labels.text("legend.standard", lang), gid=f"density_{key}_standard")
        top = float(standard.max())
        if stats["n"] >= MIN_DENSITY_N and stats["sd"] > 0:
            kde = density.gaussian_kde(z, DENSITY_GRID)
            top = max(top, float(kde.max()))
            label = labels.text("legend.sample", lang, n=labels.count(stats["n"], lang), mean=labels.number(stats["mean"], 2, lang),
                                sd=labels.number(stats["sd"], 2, lang))
            ax.fill_between(DENSITY_GRID, kde, color="#1565c0", alpha=0.15, linewidth=0, gid=f"density_{key}_fill")
            ax.plot(DENSITY_GRID, kde, color="#1565c0", linewidth=1.8, label=label, gid=f"density_{key}_sample")
        else:
            ax.text(0.5, 0.5, labels.text("too_few", lang, n=stats["n"]), transform=ax.transAxes, ha="center",
                    va="center", fontsize=10, color="#555555", gid=f"density_{key}_too_few")
        for cut in (-2, 2):
            ax.axvline(cut, color="#9e9e9e", linewidth=0.7, linestyle=":", zorder=0.5)
        ax.set_xlim(*DISTRIBUTION_XLIM)
        ax.set_ylim(0, top * 1.25)
        ax.xaxis.set_major_locator(mpl["MultipleLocator"](1))
        ax.xaxis.set_major_formatter(_number_formatter(lang, mpl))
        ax.yaxis.set_major_formatter(_number_formatter(lang, mpl))
        ax.set_xlabel(labels.text("axis.z", lang))
        if i == 0:
            ax.set_ylabel(labels.text("axis.density", lang))
        ax.set_title(labels.text(f"panel.{key}", lang), fontsize=9.5, fontweight="bold")
        ax.grid(True, color="#dddddd", linewidth=0.5)
        ax.tick_params(labelsize=7.5)
        ax.legend(loc="upper left", fontsize=7, framealpha=0.9).set_gid(f"legend_{key}")
    fig.text(0.07, 0.93, labels.text("title.distribution", lang), fontsize=13, fontweight="bold", gid="title")
    if chart.subtitle:
        fig.text(0.07, 0.885, chart.subtitle, fontsize=9.5, color="#333333", gid="subtitle")
    _footer(fig, 0.07, labels.text("footer.distribution", lang), DISTRIBUTION_FIGSIZE[0])
    return fig


#: Trend series drawn: key -> colour. Row keys: ``<key>_pct``, ``<key>_ci_low``, ``<key>_ci_high``,
#: ``<key>_n`` (the trend report's columns).
TREND_SERIES = {"stunting": "#6a1b9a", "wasting": "#c62828", "underweight": "#ef6c00"}


@dataclass(frozen=True)
class TrendChart:
    """Monthly rows, oldest first: ``(("month", "2026-01"), ("stunting_pct", 21.4), ...)``."""

    rows: tuple[tuple[tuple[str, object], ...], ...]
    subtitle: str = ""
    lang: str = "id"

    @classmethod
    def from_rows(cls, rows, subtitle: str = "", lang: str = "id") -> "TrendChart":
        keys = ["month", "measured"] + [f"{k}_{part}" for k in TREND_SERIES
                                         for part in ("pct", "ci_low", "ci_high", "n")]
        return cls(tuple(tuple((k, row.get(k)) for k in keys) for row in rows), subtitle, lang)


def trend_chart(chart: TrendChart, fmt: str) -> bytes:
    with _LOCK:
        mpl = _matplotlib()
        fig = _trend_figure(chart, mpl)
        return _save(fig, fmt, mpl)


def _value(v) -> float:
    return math.nan if v is None else float(v)


def _trend_figure(chart: TrendChart, mpl):
    lang = chart.lang
    rows = [dict(r) for r in chart.rows]
    fig = mpl["Figure"](figsize=TREND_FIGSIZE, facecolor="#ffffff")
    mpl["FigureCanvasAgg"](fig)
    ax = fig.add_axes((0.08, 0.2, 0.88, 0.62))
    ax.set_gid("chart_axes")
    x = np.arange(len(rows), dtype=float)
    top = 10.0
    for key, colour in TREND_SERIES.items():
        pct = np.array([_value(r.get(f"{key}_pct")) for r in rows])
        low = np.array([_value(r.get(f"{key}_ci_low")) for r in rows])
        high = np.array([_value(r.get(f"{key}_ci_high")) for r in rows])
        if not np.isfinite(pct).any():
            continue  # no month with a value: nothing to draw (the legend would be empty)
        if np.isfinite(high).any():
            top = max(top, float(np.nanmax(high)))
        ax.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0, gid=f"trend_{key}_ci")
        ax.plot(x, pct, color=colour, linewidth=1.8, marker="o", markersize=4, label=labels.text(f"trend.{key}", lang),
                gid=f"trend_{key}")
    ax.set_xlim(-0.5, max(len(rows) - 0.5, 0.5))
    ax.set_ylim(0, top * 1.15)
    ax.set_xticks(x)
    ax.set_xticklabels([labels.short_month(r["month"], lang) for r in rows], rotation=45, ha="right")
    if all(r.get("measured") is not None for r in rows):
        # the number of children measured above each month: a small n explains a wide band
        for i, r in enumerate(rows):
            ax.text(i, 1.005, f"n={labels.count(r['measured'], lang)}", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=6.5, color="#555555", gid=f"trend_n_{i}")
    ax.yaxis.set_major_formatter(_number_formatter(lang, mpl))
    ax.set_ylabel(labels.text("axis.prevalence", lang))
    ax.grid(True, color="#dddddd", linewidth=0.5)
    ax.tick_params(labelsize=7.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7.5, framealpha=0.9).set_gid("legend")
    fig.text(0.08, 0.93, labels.text("title.trend", lang), fontsize=13, fontweight="bold", gid="title")
    if chart.subtitle:
        fig.text(0.08, 0.885, chart.subtitle, fontsize=9.5, color="#333333", gid="subtitle")
    _footer(fig, 0.08, labels.text("footer.trend", lang), TREND_FIGSIZE[0])
    return fig


# ---------------------------------------------------------------------------------------------
# coverage bars (immunization coverage, vitamin A and exclusive breastfeeding)
# ---------------------------------------------------------------------------------------------
#: Bar colours per series key; ``warning`` fills a bar below the threshold.
COVERAGE_COLOURS = {"idl": "#2e7d32", "vitamin_a": "#1565c0", "exclusive_breastfeeding": "#00897b",
                    "warning": "#ef6c00"}
COVERAGE_WIDTH = 9.0
#: Inches per group (the figure grows with the number of groups) and for title, legend, footer.
COVERAGE_ROW_INCHES = 0.32
COVERAGE_FRAME_INCHES = 2.8


@dataclass(frozen=True)
class CoverageChart:
    """Horizontal coverage bars (0-100 %) per group, top to bottom in ``groups`` order.

    ``series``: ``(key, legend label, values)``, one value (percent or None: nobody to count)
    per group. With a ``threshold`` a bar below it is drawn in the warning colour and the
    threshold as a vertical line."""

    title: str
    groups: tuple[str, ...]
    series: tuple[tuple[str, str, tuple], ...]
    threshold: float | None = None
    threshold_label: str = ""
    subtitle: str = ""
    footer: str = ""
    lang: str = "id"


def coverage_chart(chart: CoverageChart, fmt: str) -> bytes:
    with _LOCK:
        mpl = _matplotlib()
        fig = _coverage_figure(chart, mpl)
        return _save(fig, fmt, mpl)


def _coverage_figure(chart: CoverageChart, mpl):
    lang = chart.lang
    n = max(len(chart.groups), 1)
    height = COVERAGE_FRAME_INCHES + COVERAGE_ROW_INCHES * n * max(len(chart.series), 1) ** 0.5
    fig = mpl["Figure"](figsize=(COVERAGE_WIDTH, height), facecolor="#ffffff")
    mpl["FigureCanvasAgg"](fig)
    top_in, bottom_in = 0.95, 1.5   # inches kept for the title and subtitle; axis label, legend, footer
    ax = fig.add_axes((0.25, bottom_in / height, 0.68, 1 - (top_in + bottom_in) / height))
    ax.set_gid("chart_axes")
    count = max(len(chart.series), 1)
    thickness = 0.8 / count
    y = np.arange(n, dtype=float)
    for s, (key, label, values) in enumerate(chart.series):
        offset = (s - (count - 1) / 2) * thickness
        colour = COVERAGE_COLOURS.get(key, "#1565c0")
        for i, value in enumerate(values):
            yi = y[i] + offset
            if value is None:
                ax.text(1, yi, labels.text("coverage.none", lang), ha="left", va="center", fontsize=6.5,
                        color="#757575", gid=f"bar_{key}_{i}_none")
                continue
            v = float(value)
            below = chart.threshold is not None and v < chart.threshold
            ax.barh(yi, v, height=thickness * 0.9, color=COVERAGE_COLOURS["warning"] if below else colour,
                    linewidth=0)[0].set_gid(f"bar_{key}_{i}")
            ax.text(v + 1, yi, labels.number(v, 1, lang) + " %", ha="left", va="center", fontsize=6.5,
                    color="#333333", gid=f"bar_{key}_{i}_value")
    handles = [mpl["Patch"](color=COVERAGE_COLOURS.get(key, "#1565c0"), label=label)
               for key, label, _ in chart.series]
    if chart.threshold is not None:
        ax.axvline(chart.threshold, color="#c62828", linewidth=1.4, linestyle="--", zorder=3, gid="threshold")
        handles = ([mpl["Patch"](color=h.get_facecolor(), label=labels.text("coverage.at_or_above", lang,
                                                                              what=h.get_label())) for h in handles]
                   + [mpl["Patch"](color=COVERAGE_COLOURS["warning"], label=labels.text("coverage.below", lang)),
                      mpl["Line2D"]([], [], color="#c62828", linewidth=1.4, linestyle="--",
                                    label=chart.threshold_label)])
    ax.set_xlim(0, 110)
    ax.set_ylim(n - 0.5, -0.5)      # the first group on top
    ax.xaxis.set_major_locator(mpl["MultipleLocator"](20))
    ax.xaxis.set_major_formatter(_number_formatter(lang, mpl))
    ax.set_yticks(y[:len(chart.groups)])
    ax.set_yticklabels([_plain(g) for g in chart.groups])
    ax.set_xlabel(labels.text("axis.coverage", lang))
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=7.5)
    if not chart.groups:
        ax.text(0.5, 0.5, labels.text("coverage.no_groups", lang), transform=ax.transAxes, ha="center",
                va="center", fontsize=10, color="#555555", gid="no_groups")
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.59, 0.6 / height), fontsize=7,
               framealpha=0.9, ncol=min(len(handles), 3)).set_gid("legend")
    fig.text(0.02, 1 - 0.4 / height, chart.title, fontsize=13, fontweight="bold", gid="title")
    if chart.subtitle:
        fig.text(0.02, 1 - 0.65 / height, chart.subtitle, fontsize=9.5, color="#333333", gid="subtitle")
    if chart.footer:
        _footer(fig, 0.02, chart.footer, COVERAGE_WIDTH)
    return fig


def _plain(text) -> str:
    """A name for matplotlib: a ``$`` would start mathtext."""
    return "" if text is None else str(text).replace("$", r"\$")
