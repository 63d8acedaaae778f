"""The demo data set makes the monthly reports interesting: after ``flask demo load`` the
summary table is filled and last month's SKDN shows N, T, O, 2T and children not weighed."""
from __future__ import annotations

from posyandu.extensions import db
from posyandu.reports import summary
from tests.factories import headers


def test_demo_fills_the_summary_and_the_reports_show_every_case(runner, client):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "report summary: filled" in result.output
    rows = summary.summary_rows(db.session)
    assert rows and rows == summary.summary_rows_from_scratch(db.session)
    from posyandu.auth.models import User
    import sqlalchemy as sa
    from posyandu.reports.areas import current_month
    admin = db.session.scalars(sa.select(User).where(User.username == "admin")).one()
    last = str(current_month().shift(-1))
    body = client.get("/api/v1/reports/skdn", query_string={"level": "kabupaten", "code": "35.25", "month": last,
                                                              "by": "posyandu"}, headers=headers(admin)).get_json()
    total = next(r for r in body["tables"][0]["rows"] if r["level"] == "total")
    assert total["S"] > total["D"] > 0 and total["N"] > 0 and total["T"] > 0 and total["2T"] > 0
    assert sum(1 for r in body["tables"][0]["rows"] if r["level"] == "posyandu") == 3
    nut = client.get("/api/v1/reports/nutrition-status", headers=headers(admin),
                     query_string={"level": "kabupaten", "code": "35.25", "month": last}).get_json()
    t = next(r for r in nut["tables"][0]["rows"] if r["level"] == "total")
    assert t["stunting_cases"] > 0 and t["wasting_cases"] + t["underweight_cases"] > 0
