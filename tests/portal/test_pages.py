"""Every portal page for each staff role through the Flask test client; out of scope is the 404
page; downloads are real files."""
from __future__ import annotations

import io
import uuid
from datetime import date

import openpyxl
import pytest

from posyandu.reports.areas import current_month
from tests import factories

from .helpers import sign_in

PAGES = ["/portal/month", "/portal/reports", "/portal/follow-up", "/portal/early-warning", "/portal/quality"]


def _record(client, world, child, on, **values):
    body = {"id": str(uuid.uuid4()), "child_id": str(child.id), "measured_on": on.isoformat(), **values}
    response = client.post("/api/v1/measurements", json=body, headers=factories.headers(world.admin))
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def measured(client, world):
    """Two boys of posyandu A1 measured this month at 18 months: one clearly stunted, one not.
    WHO length-for-age, boys, 18 months: median 82.3 cm, SD about 2.9 cm (LMS S = 0.0354), so
    72.0 cm is below -3 SD and 82.5 cm about the median."""
    today = date.today()
    month_start = today.replace(day=1)
    born = date(month_start.year - 1 - (1 if month_start.month <= 6 else 0),
                (month_start.month - 6 - 1) % 12 + 1, 1)
    short = factories.child(world.posyandu_a1, "Anak Pendek", birth_date=born)
    tall = factories.child(world.posyandu_a1, "Anak Normal", birth_date=born)
    from posyandu.extensions import db
    db.session.commit()
    _record(client, world, short, month_start, weight_kg=8.6, length_cm=72.0, measure_method="lying")
    _record(client, world, tall, month_start, weight_kg=10.9, length_cm=82.5, measure_method="lying")
    return short, tall


@pytest.mark.parametrize("who", ["staff_a", "dinkes_gresik", "kader_a1", "admin"])
def test_every_page_opens_for_each_role(client, world, who):
    sign_in(client, getattr(world, who))
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert response.mimetype == "text/html"
        assert "csrf_token" in response.get_data(as_text=True)
    page = client.get(f"/portal/children/{world.child_a1.id}")
    assert page.status_code == 200 and "Ahmad Fauzi" in page.get_data(as_text=True)


@pytest.mark.parametrize("who, outside", [
    ("staff_a", "/portal/month?level=puskesmas&code=P3525020101"),           # other puskesmas
    ("staff_a", "/portal/quality?level=posyandu&code=PY-B1"),
    ("kader_a1", "/portal/early-warning?level=posyandu&code=PY-A2"),          # kader, other posyandu
    ("dinkes_gresik", "/portal/month?level=kabupaten&code=35.24"),           # dinkes, other kabupaten
    ("dinkes_gresik", "/portal/reports/immunization-coverage?level=posyandu&code=PY-C1"),
    ("staff_a", "/portal/download/immunization-coverage.xlsx?level=puskesmas&code=P3525020101"),
    ("staff_a", "/portal/follow-up?level=kabupaten&code=35.25"),
    ("staff_a", "/portal/nowhere"),
])
def test_outside_scope_is_the_404_page(client, world, who, outside):
    sign_in(client, getattr(world, who))
    response = client.get(outside)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Halaman tidak ditemukan" in response.get_data(as_text=True)


@pytest.mark.parametrize("who, child", [("staff_b", "child_a1"), ("kader_a2", "child_a1"),
                                        ("dinkes_lamongan", "child_b1"), ("staff_a", "child_c1")])
def test_child_of_another_area_is_404(client, world, who, child):
    sign_in(client, getattr(world, who))
    child_id = getattr(world, child).id
    assert client.get(f"/portal/children/{child_id}").status_code == 404
    assert client.get(f"/portal/children/{child_id}/charts/weight-for-age.svg").status_code == 404


def test_month_view_counts_and_colours(client, world, measured):
    sign_in(client, world.staff_a)
    html = client.get(f"/portal/month?level=posyandu&code=PY-A1&month={current_month()}").get_data(as_text=True)
    table = html[html.index('id="glance"'):]
    row = table[table.index("Posyandu Melati"):]
    row = row[:row.index("</tr>")]
    # 1 of the 2 measured children stunted: 50.0 %, painted "very high" (>= 30 %, WHO/UNICEF 2018)
    assert '<td class="num c-bad">50.0</td>' in row
    # neither wasted (WFL at 72 cm: median about 9.0 kg, so 8.6 kg is above -2 SD)
    assert '<td class="num c-good">0.0</td>' in row


def test_child_page_shows_growth_schedule_audit(client, world, measured):
    short, _ = measured
    sign_in(client, world.staff_a)
    html = client.get(f"/portal/children/{short.id}").get_data(as_text=True)
    assert "Anak Pendek" in html and "72.0" in html
    assert 'id="schedule"' in html and 'id="audit"' in html
    assert f"/portal/children/{short.id}/charts/weight-for-age.svg" in html
    chart = client.get(f"/portal/children/{short.id}/charts/weight-for-age.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"


def test_follow_up_links_to_the_child(client, world, measured):
    sign_in(client, world.staff_a)
    html = client.get("/portal/follow-up").get_data(as_text=True)
    assert "/portal/children/" in html


def test_report_pages_and_downloads(client, world, measured):
    sign_in(client, world.staff_a)
    html = client.get("/portal/reports").get_data(as_text=True)
    assert "/portal/reports/immunization-coverage" in html
    for kind in ("immunization-coverage", "vitamin-a-breastfeeding", "nutrition-status"):
        page = client.get(f"/portal/reports/{kind}")
        assert page.status_code == 200, kind
        assert f"/portal/download/{kind}.xlsx" in page.get_data(as_text=True)
    response = client.get("/portal/download/immunization-coverage.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert workbook.sheetnames
    csv = client.get("/portal/download/vitamin-a-breastfeeding.zip")
    assert csv.status_code == 200 and csv.get_data()[:2] == b"PK"
    # the API's download also accepts the portal's cookie session
    api = client.get("/api/v1/reports/immunization-coverage.xlsx")
    assert api.status_code == 200


def test_report_chart_images(client, world, measured):
    sign_in(client, world.dinkes_gresik)
    for chart in ("z-distribution", "trend"):
        response = client.get(f"/portal/charts/{chart}.svg")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_area_picker_walks_the_hierarchy(app, client, world):
    sign_in(client, world.dinkes_gresik)
    html = client.get("/portal/month").get_data(as_text=True)
    assert "level=kecamatan&amp;code=35.25.01" in html and "level=puskesmas&amp;code=P3525010101" in html
    html = client.get("/portal/month?level=kecamatan&code=35.25.01").get_data(as_text=True)
    assert "level=desa&amp;code=35.25.01.2001" in html
    assert "level=kabupaten&amp;code=35.25" in html  # the way up
    other = app.test_client()
    sign_in(other, world.staff_a)
    html = other.get("/portal/month").get_data(as_text=True)
    assert "code=PY-A1" in html and "code=PY-B1" not in html


def test_future_month_is_a_readable_error(client, world):
    sign_in(client, world.staff_a)
    response = client.get("/portal/month?month=2999-01")
    assert response.status_code == 422 and response.mimetype == "text/html"


def test_month_view_rows_by_a_lower_level(client, world, measured):
    sign_in(client, world.dinkes_gresik)
    html = client.get("/portal/month?by=puskesmas").get_data(as_text=True)
    table = html[html.index('id="glance"'):]
    assert "Puskesmas Kebomas" in table and "Puskesmas Manyar" in table
    assert "level=puskesmas&amp;code=P3525010101" in table  # a row opens that puskesmas
    assert "Posyandu Melati" not in table
    response = client.get("/portal/month?level=posyandu&code=PY-A1&by=kecamatan")
    assert response.status_code == 422 and "by" in response.get_data(as_text=True)


def test_machine_client_key_is_no_portal_session(client, world):
    client.set_cookie("access_token_cookie", "pgk_" + "a" * 40, path="/")
    client.set_cookie("refresh_token_cookie", "pgk_" + "b" * 40, path="/portal/")
    response = client.get("/portal/month")
    assert response.status_code == 302 and response.headers["Location"].startswith("/portal/login")


NIK = "3525011503240001"  # a boy born 15 March 2024 (DDMMYY 150324), Kebomas (35.25.01)


def test_child_identifiers_masked_and_revealed_for_supervisors(app, client, world):
    from posyandu.audit.models import AuditEvent
    from posyandu.extensions import db
    import sqlalchemy as sa
    response = client.patch(f"/api/v1/children/{world.child_a1.id}", json={"nik": NIK},
                            headers=factories.headers(world.admin))
    assert response.status_code == 200, response.json
    sign_in(client, world.staff_a)
    page = client.get(f"/portal/children/{world.child_a1.id}").get_data(as_text=True)
    assert NIK not in page and 'id="reveal"' in page
    from .helpers import page_token
    token = page_token(client, f"/portal/children/{world.child_a1.id}")
    assert client.post(f"/portal/children/{world.child_a1.id}", data={}).status_code == 400  # no CSRF token
    shown = client.post(f"/portal/children/{world.child_a1.id}", data={"csrf_token": token})
    assert shown.status_code == 200 and NIK in shown.get_data(as_text=True)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reveal_identifiers",
                                                            AuditEvent.child_id == str(world.child_a1.id))).all()
    assert len(events) == 1
    kader = app.test_client()
    sign_in(kader, world.kader_a1)
    page = kader.get(f"/portal/children/{world.child_a1.id}").get_data(as_text=True)
    assert NIK not in page and 'id="reveal"' not in page
    token = page_token(kader, f"/portal/children/{world.child_a1.id}")
    refused = kader.post(f"/portal/children/{world.child_a1.id}", data={"csrf_token": token})
    assert refused.status_code == 403 and NIK not in refused.get_data(as_text=True)


def test_puskesmas_picker_offers_its_desa_and_posyandu(client, world):
    sign_in(client, world.staff_a)
    html = client.get("/portal/month").get_data(as_text=True)
    picker = html[:html.index("<main>")]
    assert "level=desa&amp;code=35.25.01.2001" in picker and "level=desa&amp;code=35.25.01.2002" in picker
    assert "35.25.02.2001" not in picker  # Manyar's desa
    assert client.get("/portal/month?level=desa&code=35.25.01.2001").status_code == 200
