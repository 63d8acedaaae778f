"""The columnar CSV layer of the batch tools (posyandu/tools/tabular.py): row numbers, rows of
the wrong width, quoting, numbers. Expected values are written out by hand from the input."""
from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa
import pytest

from posyandu.tools import tabular


def read_all(tmp_path, data: bytes, chunk_size=100, **kw):
    src = tmp_path / "t.csv"
    src.write_bytes(data)
    with tabular.open_table(str(src), chunk_size=chunk_size, **kw) as table:
        chunks = list(table.chunks())
    return table, chunks


def rows_of(chunks):
    out = []
    for ch in chunks:
        cols = [c.to_pylist() for c in ch.columns]
        for i in range(len(ch)):
            out.append((int(ch.row_numbers[i]), [c[i] for c in cols],
                        ch.field_counts.get(i)))
    return out


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("block", [16, 1 << 22])
def test_row_numbers_blank_rows_bad_rows_and_quoted_newlines(tmp_path, monkeypatch, eol,
                                                             block):
    monkeypatch.setattr(tabular, "_BLOCK", block)
    lines = [b"a,b,c", b"1,2,3", b"", b"4,5", b'"x' + eol + b'y",7,8', b"9,10,11,12", b",,",
             b"13,14,15"]
    table, chunks = read_all(tmp_path, eol.join(lines) + eol, chunk_size=2)
    assert table.header == ["a", "b", "c"]
    # row 3 blank and row 7 all empty: skipped, keeping their numbers; row 4 is short and
    # row 6 long (padded / cut, field count kept); the quoted field spanning two lines is
    # one row (5)
    assert rows_of(chunks) == _expected(eol)
    assert all(len(ch) <= 2 for ch in chunks)


def _expected(eol: bytes):
    inner = "x" + eol.decode() + "y"
    return [(2, ["1", "2", "3"], None), (4, ["4", "5", ""], 2), (5, [inner, "7", "8"], None),
            (6, ["9", "10", "11"], 4), (8, ["13", "14", "15"], None)]


def test_semicolon_detected_and_bom_skipped(tmp_path):
    table, chunks = read_all(tmp_path, "\ufeffsex;age_days\n1;100\n".encode("utf-8"))
    assert table.delimiter == ";" and table.header == ["sex", "age_days"]
    assert rows_of(chunks) == [(2, ["1", "100"], None)]


def test_parse_numbers_fast_and_fallback():
    values, bad = tabular.parse_numbers(pa.array(["1.5", "", "NA", "-2", "1e3"]))
    assert bad is None
    assert values[0] == 1.5 and math.isnan(values[1]) and math.isnan(values[2])
    assert values[3] == -2 and values[4] == 1000
    values, bad = tabular.parse_numbers(pa.array([" 7 ", "12,5", "abc", ""]))
    assert values[0] == 7 and bad.tolist() == [False, True, True, False]
    values, bad = tabular.parse_numbers(pa.array(["12,5", ""]), decimal_comma=True)
    assert values[0] == 12.5 and bad is None


def test_writer_quotes_only_what_needs_it():
    out = io.BytesIO()
    w = tabular.CsvWriter(out, ["nama", "x"], ",")
    names = tabular.quote_column(pa.array(['Siti, "Ani"', "Budi", "baris\nkedua"]), ",")
    w.write([names, pa.array(["1", None, "3"])])
    assert out.getvalue().decode() == ('nama,x\n"Siti, ""Ani""",1\nBudi,\n'
                                       '"baris\nkedua",3\n')


def test_coded_text_joins_each_combination_once():
    a = tabular.Coded(np.array([0, 1, 0, 2]), ["p", "q", ""])
    b = tabular.Coded(np.array([1, 1, 1, 0]), ["0", "1"])
    assert tabular.coded_text([a, b], ";").to_pylist() == ["p;1", "q;1", "p;1", ";0"]
