"""One chunk of anthro-style input rows -> WHO z-scores + PMK 2/2020 categories, as text.

Used by ``posyandu-anthro zscores`` (:mod:`posyandu.anthro_cli`). The arithmetic is the
vectorised engine's (:func:`posyandu.core.growth.zscores.compute_zscores`) and the categories
are :func:`posyandu.core.growth.classify.classify_batch`; this module only parses text cells,
calls them once per chunk and formats the result.

Input columns (names case-insensitive; see /work/shared/who-growth-standards/README.md):
``sex, age_days, weight, lenhei, measure, headc, armc, triskin, subskin, oedema``. ``sex`` and
the age column are required, the others are optional (absent = all missing). Codes are the
ones anthro accepts: sex ``1 2 m f M F``, measure ``l h L H``, oedema ``y n Y N 1 2``; an empty
cell or ``NA`` is missing. Numbers as ``float()`` reads them (``--decimal ,`` also accepts a
decimal comma).

Output per row: every input column (unchanged, in order; an input column whose name is one of
the computed columns is replaced by the computed one), anthro's columns
(``OUTPUT_COLUMNS``), then per index ``bbu tbu bbtb imtu lku lila`` the category and
``<index>_reason`` (why there is no category: ``not_assessable``, ``length_out_of_range``,
``oedema``, ``not_applicable``, or the remeasure warning of a flagged z), then ``error``.

Number format, so that the text compares equal with anthro's CSV (R ``write.csv``):
z-scores as ``round(z, 2)`` with at most 2 decimals (``-0.07``, ``1``, ``Inf``), flags,
``c9mo_flag`` and ``csex`` as integers, ``clenhei`` with 15 significant digits like R
(``65.7 - 0.7`` prints ``65``), ``cbmi`` at full precision (shortest round-trip repr);
missing = empty cell.

Rows anthro would refuse (it stops the whole call) or that cannot be read get every computed
cell empty and ``error`` = ``row N: <code>: <detail>``. Codes: the engine's
(``negative_age``, ``invalid_sex``, ``invalid_age``, ``invalid_weight``, ``invalid_measure``,
``invalid_oedema`` ...; the first problem in anthro's argument order wins) and
``bad_field_count`` (a row with more or fewer fields than the header).

Age in months (``age_unit="months"``): as anthro's ``is_age_in_month = TRUE``, the engine gets
``months * 30.4375`` days, which it rounds half up (``round_up``) for the table lookup; its
unrounded-month tests (< 9, < 60 months) then see ``days / 30.4375``, which equals the given
months except possibly in the last bit.

LiLA is classified for 6-59 *completed* months. The file has ages, not dates, so completed
months are ``floor(age_days / 30.4375)`` (WHO's mean month; ``floor(months)`` for month input).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from posyandu.core.growth import codes as gcodes
from posyandu.core.growth.classify import ALL_INDICES, classify_batch_codes
from posyandu.core.growth.rules import Rules, default_rules
from posyandu.core.growth.zscores import (
    DAYS_PER_MONTH, OUTPUT_COLUMNS, RAW_COLUMNS, compute_zscores)

import pyarrow as pa
import pyarrow.compute as pc

from . import tabular
from .tabular import Chunk, Coded, InputError, coded_text, quote_cell, quote_column

#: Input fields in anthro's argument order (the age column name is configurable).
NUMERIC_FIELDS = ("age", "weight", "lenhei", "headc", "armc", "triskin", "subskin")
CODE_FIELDS = ("sex", "measure", "oedema")
OPTIONAL_COLUMNS = ("weight", "lenhei", "measure", "headc", "armc", "triskin", "subskin",
                    "oedema")
#: Columns computed per index, in output order.
CATEGORY_COLUMNS = tuple(c for k in ALL_INDICES for c in (k, k + "_reason"))
COMPUTED_COLUMNS = OUTPUT_COLUMNS + CATEGORY_COLUMNS + ("error",)
LABEL_MODES = ("code", "id", "en")

_NAN = math.nan
# engine input values for our parsed codes (see codes.classify_array's float path)
_SEX_VALUE = {1: 1.0, 2: 2.0, 0: _NAN, gcodes.BAD: -1.0}
_MEASURE_VALUE = {1: 1.0, 2: 2.0, 0: _NAN, gcodes.BAD: -1.0}
_OEDEMA_VALUE = {1: 1.0, 0: 0.0, gcodes.BAD: -1.0}
_CODE_SPECS = {  # field: (table, NA value, engine values, numbers like "1.0" allowed?)
    "sex": (gcodes.SEX_CODES, gcodes.SEX_NA, _SEX_VALUE, True),
    "measure": (gcodes.MEASURE_CODES, gcodes.MEASURE_NA, _MEASURE_VALUE, False),
    "oedema": (gcodes.OEDEMA_CODES, gcodes.OEDEMA_NA, _OEDEMA_VALUE, True),
}
_EXPECTED_CODES = {"sex": "1, 2, m, f, M or F", "measure": "l, h, L or H",
                   "oedema": "y, n, Y, N, 1 or 2"}


# --------------------------------------------------------------------------- layout
@dataclass
class Layout:
    """Where the input fields are in the header, and the output header."""

    header: list[str]
    positions: dict[str, int | None]  # field -> column index (None: column absent)
    names: dict[str, str]  # field -> column name as written in the header
    passthrough: list[int]
    dropped: list[str]
    out_header: list[str]

    @property
    def width(self) -> int:
        return len(self.header)


def make_layout(header: Sequence[str], *, age_column: str = "age_days") -> Layout:
    """Find the input columns; :class:`InputError` when a required one is missing or doubled."""
    header = list(header)
    lower = [h.strip().lower() for h in header]
    wanted = {"sex": "sex", "age": age_column}
    wanted.update({f: f for f in OPTIONAL_COLUMNS})
    positions: dict[str, int | None] = {}
    names: dict[str, str] = {}
    for fld, name in wanted.items():
        hits = [i for i, h in enumerate(lower) if h == name.lower()]
        if len(hits) > 1:
            raise InputError(f"column {name!r} appears {len(hits)} times in the header "
                             f"(columns {', '.join(str(i + 1) for i in hits)})")
        positions[fld] = hits[0] if hits else None
        names[fld] = header[hits[0]] if hits else name
    missing = [wanted[f] for f in ("sex", "age") if positions[f] is None]
    if missing:
        shown = ", ".join(repr(h) for h in header[:12]) + (" ..." if len(header) > 12 else "")
        raise InputError(f"required column(s) {', '.join(map(repr, missing))} not in the header "
                         f"(found {len(header)} column(s): {shown})")
    computed = {c.lower() for c in COMPUTED_COLUMNS}
    passthrough = [i for i, h in enumerate(lower) if h not in computed]
    dropped = [header[i] for i, h in enumerate(lower) if h in computed]
    out_header = [header[i] for i in passthrough] + list(COMPUTED_COLUMNS)
    return Layout(header, positions, names, passthrough, dropped, out_header)


@dataclass
class Options:
    age_unit: str = "days"  # or "months"
    labels: str = "code"  # "code", "id" or "en"
    decimal_comma: bool = False
    delimiter: str = ","
    rules: Rules = field(default_factory=default_rules)


@dataclass
class ChunkResult:
    columns: list  # output columns (pyarrow strings, quoted), in Layout.out_header order
    errors: list[tuple[int, str]]  # (row number, error code)
    rows: int


# --------------------------------------------------------------------------- parsing
def parse_numbers(col, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Text cells -> float64 (NaN for "" / "NA" / blank) and a mask of non-numbers (or None)."""
    return tabular.parse_numbers(col, decimal_comma)


def _classify_code(u: str, fld: str) -> int:
    table, na, _, numeric_ok = _CODE_SPECS[fld]
    s = u.strip()
    if s == "" or s == "NA":
        return na
    c = gcodes.classify(u, table, na)
    if c == gcodes.BAD and numeric_ok:  # "1.0" is the number 1, as R reads it
        try:
            c = gcodes.classify(float(s), table, na)
        except ValueError:
            pass
    return c


def parse_codes(col, fld: str) -> np.ndarray:
    """Text codes -> the float values the engine's float path reads (-1 = invalid code)."""
    engine_value = _CODE_SPECS[fld][2]
    distinct, idx = tabular.distinct_codes(col)
    values = np.array([engine_value[_classify_code(u, fld)] for u in distinct] or [0.0])
    return values[idx]


# --------------------------------------------------------------------------- formatting
# Output cells are built in pyarrow (no per-cell Python): few-valued columns as integer codes
# into a list of texts (tabular.Coded), adjacent ones joined into one output column per
# distinct combination (tabular.coded_text); cbmi through pyarrow's float formatting.
_Z_LIM = 5000
_Z_TEXTS = ["%.15g" % (k / 100) for k in range(-_Z_LIM, _Z_LIM + 1)]
_SMALL_INT_TEXTS = ["0", "1", "2", ""]


def _general(v: float) -> str:
    if v != v:
        return ""
    if v in (math.inf, -math.inf):
        return "Inf" if v > 0 else "-Inf"
    return "%.15g" % v


def coded_z(a: np.ndarray) -> Coded:
    """Already-rounded z-scores as anthro's CSV writes them: at most 2 decimals."""
    with np.errstate(invalid="ignore"):
        k = np.rint(a * 100.0)
        ok = np.abs(k) <= _Z_LIM
    missing = np.isnan(a)
    texts = _Z_TEXTS + [""]
    codes = np.where(ok, k + _Z_LIM, len(_Z_TEXTS)).astype(np.int64)
    other = np.flatnonzero(~ok & ~missing)
    if other.size:  # beyond +-50 or infinite: formatted one by one
        texts = texts + [_general(float(v)) for v in a[other].tolist()]
        codes[other] = len(_Z_TEXTS) + 1 + np.arange(other.size)
    return Coded(codes, texts)


def coded_small_int(a: np.ndarray) -> Coded:
    """0/1/2 (flags, c9mo_flag, csex); NaN -> empty."""
    return Coded(np.where(np.isnan(a), 3, a).astype(np.int64), _SMALL_INT_TEXTS)


def coded_g15(a: np.ndarray) -> Coded:
    """15 significant digits, as R's write.csv (few distinct values: format each once)."""
    uniq, inv = np.unique(a, return_inverse=True)
    return Coded(inv.reshape(-1).astype(np.int64), [_general(v) for v in uniq.tolist()])


def format_full(a: np.ndarray) -> pa.Array:
    """Full precision: the shortest text that reads back to the same double; NaN -> empty,
    infinities as R writes them (``Inf``)."""
    missing = np.isnan(a)
    out = pc.cast(pa.array(a, mask=missing), pa.string())
    inf = np.isinf(a)
    if inf.any():
        out = pc.if_else(pa.array(inf), pa.array(np.where(a > 0, "Inf", "-Inf")), out)
    return pc.fill_null(out, "")


def _category_maps(rules: Rules, labels: str) -> tuple[dict, dict]:
    """{code or None: cell text} for categories and reasons."""
    cat: dict = {None: None}
    reason: dict = {None: None}
    lang = {"id": 0, "en": 1}.get(labels)
    for code in rules.category_codes():
        c = rules.category(code)
        cat[code] = code if lang is None else (c.label_id, c.label_en)[lang]
    for code, w in rules.warnings.items():
        reason[code] = code if lang is None else (w.label_id, w.label_en)[lang]
    for code, pair in rules.reasons.items():  # a reason label wins over a same-named warning
        reason[code] = code if lang is None else pair[lang]
    return cat, reason


# --------------------------------------------------------------------------- errors
def error_text(row: int, code: str, raw: dict[str, str], names: dict[str, str],
               width: int | None = None, got: int | None = None) -> str:
    """``row N: <code>: <detail>`` for the ``error`` column."""
    if code == "bad_field_count":
        detail = f"{got} field(s) but the header has {width}"
    elif code == "negative_age":
        detail = (f"{names['age']} {raw.get('age', '')!r} is negative; anthro refuses such "
                  "rows, z-scores left empty")
    elif code in ("invalid_sex", "invalid_measure", "invalid_oedema"):
        fld = code[len("invalid_"):]
        detail = (f"unknown {names[fld]} code {raw.get(fld, '')!r} "
                  f"(expected {_EXPECTED_CODES[fld]} or empty)")
    elif code.startswith("invalid_"):
        fld = code[len("invalid_"):]
        detail = f"{names.get(fld, fld)} {raw.get(fld, '')!r} is not a number"
    else:
        detail = code
    return f"row {row}: {code}: {detail}"


def _blank(res: dict, mask: np.ndarray) -> None:
    for k in OUTPUT_COLUMNS + RAW_COLUMNS + ("age_days_rounded",):
        if k == "cmeasure":
            res[k][mask] = None
        else:
            res[k][mask] = np.nan


# --------------------------------------------------------------------------- one chunk
@dataclass
class ParsedChunk:
    """One chunk's input fields parsed for the engine (see :func:`parse_chunk`)."""

    kw: dict  # engine arguments by field (None: column absent); bad numbers kept as text
    floats: dict[str, np.ndarray]  # numeric fields as float64 (NaN: missing or not a number)
    months: np.ndarray  # unrounded age in months (NaN: missing)
    in_cols: dict  # field -> text cells (rows of the wrong width blanked)
    bad_len: list[int]  # positions of rows with the wrong number of fields


def parse_chunk(chunk: Chunk, layout: Layout, opts: Options) -> ParsedChunk:
    """Text cells of the anthro input fields -> engine arguments (one call per chunk)."""
    cols = chunk.columns
    n = len(chunk)
    bad_len = list(chunk.field_counts)
    in_cols = {fld: cols[pos] for fld, pos in layout.positions.items() if pos is not None}
    if bad_len:  # a row we cannot align: compute nothing from it
        in_cols = {fld: tabular.blank_rows(c, bad_len) for fld, c in in_cols.items()}
    kw = {}
    floats = {}
    months = None
    for fld in NUMERIC_FIELDS:
        col = in_cols.get(fld)
        if col is None:
            kw[fld] = None
            floats[fld] = np.full(n, np.nan)
            continue
        arr, bad = parse_numbers(col, opts.decimal_comma)
        if fld == "age" and opts.age_unit == "months":
            months = arr
            arr = arr * DAYS_PER_MONTH
        floats[fld] = arr
        if bad is None:
            kw[fld] = arr
        else:  # the engine reports the row (first problem in anthro's argument order)
            obj = arr.astype(object)
            text = col.to_pylist() if isinstance(col, (pa.Array, pa.ChunkedArray)) else col
            obj[bad] = np.asarray(text, dtype=object)[bad]
            kw[fld] = obj
    for fld in CODE_FIELDS:
        col = in_cols.get(fld)
        kw[fld] = None if col is None else parse_codes(col, fld)
    if months is None:
        months = floats["age"] / DAYS_PER_MONTH
    return ParsedChunk(kw, floats, months, in_cols, bad_len)


def compute_chunk(p: ParsedChunk) -> dict:
    """The engine on a parsed chunk; rows of the wrong width get ``bad_field_count``."""
    kw = p.kw
    res = compute_zscores(sex=kw["sex"], age_days=kw["age"], weight=kw["weight"],
                          lenhei=kw["lenhei"], measure=kw["measure"], headc=kw["headc"],
                          armc=kw["armc"], triskin=kw["triskin"], subskin=kw["subskin"],
                          oedema=kw["oedema"])
    if p.bad_len:
        err = res["error"]
        for i in p.bad_len:
            err[i] = "bad_field_count"
        mask = np.zeros(len(err), dtype=bool)
        mask[p.bad_len] = True
        _blank(res, mask)
    return res


def process_chunk(chunk: Chunk, layout: Layout, opts: Options) -> ChunkResult:
    """Compute and format one chunk of rows (see the module docstring)."""
    n = len(chunk)
    width = layout.width
    cols = chunk.columns
    p = parse_chunk(chunk, layout, opts)
    kw, floats, in_cols, months = p.kw, p.floats, p.in_cols, p.months
    res = compute_chunk(p)
    err = res["error"]
    err_idx = [i for i, e in enumerate(err.tolist()) if e is not None]
    err_mask = np.zeros(n, dtype=bool)
    err_mask[err_idx] = True

    # -- categories (PMK 2/2020)
    if opts.age_unit == "months" and in_cols.get("age") is not None:
        age_m = np.floor(months)
    else:
        age_m = np.floor(floats["age"] / DAYS_PER_MONTH)
    age_m[err_mask] = np.nan
    oed = (kw["oedema"] == 1.0) if kw["oedema"] is not None else None
    cls = classify_batch_codes(res, age_months=age_m, armc_cm=floats["armc"], oedema=oed,
                               rules=opts.rules)

    # -- text: passthrough, then anthro's columns and the categories in as few joined
    # columns as their order allows (clenhei+cmeasure+c9mo_flag, cbmi, csex+zlen+flen, each
    # other z with its flag, all categories)
    d = opts.delimiter
    out: list = [quote_column(cols[i], d) for i in layout.passthrough]
    cm = res["cmeasure"]
    cm_codes = np.where(cm == "l", 0, np.where(cm == "h", 1, 2)).astype(np.int64)
    out.append(coded_text([coded_g15(res["clenhei"]), Coded(cm_codes, ["l", "h", ""]),
                           coded_small_int(res["c9mo_flag"])], d))
    out.append(format_full(res["cbmi"]))
    out.append(coded_text([coded_small_int(res["csex"]), coded_z(res["zlen"]),
                           coded_small_int(res["flen"])], d))
    for key in ("wei", "wfl", "bmi", "hc", "ac", "ts", "ss"):
        out.append(coded_text([coded_z(res["z" + key]), coded_small_int(res["f" + key])], d))
    cat_map, reason_map = _category_maps(opts.rules, opts.labels)
    parts = []
    for key in ALL_INDICES:
        c = cls[key]
        for idx, names, mapping in ((c.category, [k.code for k in c.rule.categories], cat_map),
                                    (c.reason, c.reasons, reason_map)):
            texts = [quote_cell(mapping.get(v, v), d) for v in names] + [""]
            codes = np.where(idx < 0, len(names), idx).astype(np.int64)
            if err_idx:
                codes[err_idx] = len(names)
            parts.append(Coded(codes, texts))
    out.append(coded_text(parts, d))

    errors = []
    etext: list = [""] * n
    if err_idx:
        names = layout.names
        for i in err_idx:
            code = err[i]
            raw = {fld: _cell(c, i) for fld, c in in_cols.items()}
            etext[i] = quote_cell(error_text(int(chunk.row_numbers[i]), code, raw, names,
                                             width, chunk.field_counts.get(i)), d)
            errors.append((int(chunk.row_numbers[i]), code))
    out.append(pa.array(etext, pa.string()))
    return ChunkResult(out, errors, n)


def _cell(col, i: int) -> str:
    v = col[i]
    return v.as_py() if isinstance(v, pa.Scalar) else v
