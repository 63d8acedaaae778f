"""The nutrition reports through the CLI (the dinkes' scheduled jobs) and in the OpenAPI document."""
from __future__ import annotations

import openpyxl

from tests.reports.nutrition_data import nutrition_world


def test_cli_writes_the_workbook(runner, world, tmp_path):
    nutrition_world(world)
    out = tmp_path / "skdn.xlsx"
    result = runner.invoke(args=["reports", "skdn", "--area", "kabupaten:35.25", "--month", "2026-08",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out, read_only=True)
    values = [row for row in book[book.sheetnames[0]].iter_rows(values_only=True)]
    header_at = next(i for i, row in enumerate(values) if row and "S: balita sasaran" in row)
    total = values[-1]
    header = values[header_at]
    # hand-counted (tests/reports/nutrition_data.py): S 9, K 8, D 7, N 2, T 2, O 2, B 1
    assert [total[header.index(k)] for k in ("S: balita sasaran", "D: ditimbang", "N: naik")] == [9, 7, 2]


def test_openapi_documents_the_reports(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/reports/nutrition-status", "/api/v1/reports/skdn", "/api/v1/reports/trend"):
        assert path in spec["paths"], path
        operation = spec["paths"][path]["get"]
        assert operation["summary"] and {"200", "404", "422"} <= set(operation["responses"])
    params = {p["name"] for p in spec["paths"]["/api/v1/reports/trend"]["get"]["parameters"]}
    assert {"level", "code", "month", "months", "lang"} <= params
