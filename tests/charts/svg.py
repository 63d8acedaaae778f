"""Reading a matplotlib SVG back: elements by id, path vertices, markers, and the data <-> SVG
mapping of an axes taken from its own tick marks and tick labels (so a test checks positions
against the numbers printed on the axes, not against a transform the code reports)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

NS = {"svg": "http://www.w3.org/2000/svg", "xlink": "http://www.w3.org/1999/xlink"}
_SVG = "{http://www.w3.org/2000/svg}"
_HREF = "{http://www.w3.org/1999/xlink}href"
_NUMBER = re.compile(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")


class Svg:
    def __init__(self, data: bytes):
        self.root = ET.fromstring(data)
        self.by_id = {el.get("id"): el for el in self.root.iter() if el.get("id")}

    def has(self, gid: str) -> bool:
        return gid in self.by_id

    def group(self, gid: str) -> ET.Element:
        return self.by_id[gid]

    def texts(self, gid: str | None = None) -> list[str]:
        scope = self.root if gid is None else self.group(gid)
        return ["".join(t.itertext()) for t in scope.iter(_SVG + "text")]

    def subpaths(self, gid: str) -> list[np.ndarray]:
        """The vertices (SVG units) of a group's line, split at each M: its first drawn <path>;
        for a filled area (a collection: paths defined in <defs> and placed with <use x y>), the
        placed paths."""
        group = self.group(gid)
        for path in group.iter(_SVG + "path"):
            if path.get("id") is None:  # not a definition
                return parse_path(path.get("d"))
        defined = {p.get("id"): p.get("d") for p in group.iter(_SVG + "path")}
        out = []
        for use in group.iter(_SVG + "use"):
            d = defined.get(use.get(_HREF, "").lstrip("#"))
            if d is not None:
                offset = np.array([float(use.get("x", 0)), float(use.get("y", 0))])
                out += [piece + offset for piece in parse_path(d)]
        return out

    def vertices(self, gid: str) -> np.ndarray:
        return np.vstack(self.subpaths(gid))

    def markers(self, gid: str) -> np.ndarray:
        """(x, y) of every marker drawn in a group (<use> elements)."""
        uses = list(self.group(gid).iter(_SVG + "use"))
        return np.array([(float(u.get("x")), float(u.get("y"))) for u in uses]).reshape(-1, 2)

    def tick_labels(self, axes_gid: str, which: str) -> list[str]:
        out = []
        for tick in self.group(axes_gid).iter(_SVG + "g"):
            if (tick.get("id") or "").startswith(f"{which}tick_"):
                label = "".join("".join(t.itertext()) for t in tick.iter(_SVG + "text")).strip()
                if label:
                    out.append(label)
        return out

    def axis(self, axes_gid: str, which: str, ordinal: bool = False) -> "Axis":
        """The linear data -> SVG map of an axes' x or y axis from its labelled ticks (``ordinal``:
        labels that are names, such as months, stand at 0, 1, 2, ...)."""
        pixels, values = [], []
        for tick in self.group(axes_gid).iter(_SVG + "g"):
            if not (tick.get("id") or "").startswith(f"{which}tick_"):
                continue
            label = "".join("".join(t.itertext()) for t in tick.iter(_SVG + "text")).strip()
            uses = list(tick.iter(_SVG + "use"))
            if not label or not uses:
                continue
            pixels.append(float(uses[0].get("x" if which == "x" else "y")))
            values.append(len(values) if ordinal else number(label))
        assert len(values) >= (2 if ordinal else 3), f"too few labelled {which} ticks"
        slope, offset = np.polyfit(values, pixels, 1)
        residual = np.max(np.abs(np.polyval((slope, offset), values) - pixels))
        assert residual < 0.01, f"{which} ticks are not linear (residual {residual})"
        return Axis(slope, offset)


class Axis:
    def __init__(self, slope: float, offset: float):
        self.slope, self.offset = slope, offset

    def to_svg(self, value):
        return np.asarray(value, dtype=float) * self.slope + self.offset

    def to_data(self, pixel):
        return (np.asarray(pixel, dtype=float) - self.offset) / self.slope


def number(label: str) -> float:
    """A tick label as a number: Unicode minus, decimal comma."""
    return float(label.replace("\u2212", "-").replace(",", "."))


def parse_path(d: str) -> list[np.ndarray]:
    """Vertices of an SVG path made of M, L and z commands, one array per subpath."""
    tokens = re.findall(r"[MLZzC]|" + _NUMBER.pattern, d)
    subpaths, current, i = [], [], 0
    while i < len(tokens):
        t = tokens[i]
        if t == "M":
            if current:
                subpaths.append(np.array(current))
            current = [(float(tokens[i + 1]), float(tokens[i + 2]))]
            i += 3
        elif t == "L":
            current.append((float(tokens[i + 1]), float(tokens[i + 2])))
            i += 3
        elif t in ("z", "Z"):
            i += 1
        else:
            raise AssertionError(f"unexpected path command {t!r}")
    if current:
        subpaths.append(np.array(current))
    return subpaths


def y_at(vertices: np.ndarray, x: float) -> float:
    """The polyline's y at x (vertices sorted by x), by linear interpolation."""
    order = np.argsort(vertices[:, 0])
    xs, ys = vertices[order, 0], vertices[order, 1]
    assert xs[0] <= x <= xs[-1], f"x={x} outside the curve ({xs[0]}..{xs[-1]})"
    return float(np.interp(x, xs, ys))
