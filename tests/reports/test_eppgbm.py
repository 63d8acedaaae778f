"""The by-name e-PPGBM export: columns, the month's record, NIK per role (and the audit),
include=all, streaming, scope; the same through the CLI."""
from __future__ import annotations

import csv
import inspect
import io
from datetime import date

import openpyxl
import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.auth.scope import Scope
from posyandu.children import crypto
from posyandu.children.models import ChildGuardian
from posyandu.extensions import db
from posyandu.reports import eppgbm
from posyandu.reports.areas import Month, resolve_area
from tests.factories import headers
from tests.reports.coverage_data import kid, measure

URL = "/api/v1/reports/eppgbm"
NIK, MOTHER_NIK, KK = "3525014503240001", "3525015001900002", "3525010101200003"


def export_world(w):
    """November 2026.
    - E1 (A1, girl, born 5 Mar 2024, NIK, mother's NIK, KK, a guardian phone): weighed 2 Nov (9.0 kg)
      and 10 Nov (9.2 kg, 78.4 cm lying, ...), and measured without a weight on 20 Nov → her record
      is the 10 Nov weighing (the last weighing); vitamin A on 2 Nov counts for the month.
    - E2 (A1, born 1 Jan 2025): registered, not measured in November.
    - E3 (B1, born 1 Jun 2023): weighed 5 Nov with an implausible weight-for-age (flagged).
    """
    e1 = kid(w.posyandu_a1, "Sari Dewi", sex=2, birth_date=date(2024, 3, 5))
    e1.nik_encrypted, e1.nik_hmac, e1.nik_masked = crypto.protect(NIK)
    e1.mother_nik_encrypted, e1.mother_nik_hmac, e1.mother_nik_masked = crypto.protect(MOTHER_NIK)
    e1.kk_encrypted, e1.kk_hmac, e1.kk_masked = crypto.protect(KK)
    e1.birth_order, e1.birth_weight_kg, e1.birth_length_cm = 2, 3.15, 49.0
    e1.father_name, e1.rt, e1.rw, e1.address, e1.has_kia_book = "Budi", "002", "005", "Jl. Melati 3", True
    db.session.add(ChildGuardian(child_id=e1.id, phone="+6281234567890"))
    measure(e1, date(2026, 11, 2), weight_kg=9.0, vitamin_a=True, trend_status="T")
    measure(e1, date(2026, 11, 10), weight_kg=9.2, length_cm=78.4, measure_method="lying",
            arm_circumference_cm=14.1, head_circumference_cm=46.0, zwei=-1.1, zlen=-2.31, zwfl=0.2, zbmi=0.35,
            fwei=False, flen=False, fwfl=False, fbmi=False, cat_bbu="bbu.normal", cat_tbu="tbu.stunted",
            cat_bbtb="bbtb.normal", cat_imtu="imtu.normal", cat_lila="lila.normal", trend_status="N",
            is_2t=False, is_bgm=False, exclusive_breastfeeding=None)
    measure(e1, date(2026, 11, 20), length_cm=78.6, measure_method="lying")
    e2 = kid(w.posyandu_a1, "Raka", birth_date=date(2025, 1, 1))
    e3 = kid(w.posyandu_b1, "Dimas", birth_date=date(2023, 6, 1))
    measure(e3, date(2026, 11, 5), weight_kg=30.0, zwei=6.1, fwei=True, trend_status="O")
    return e1, e2, e3


def read_csv(response):
    assert response.status_code == 200, response.get_json()
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_puskesmas_staff_get_identifiers_in_clear_and_it_is_audited(client, world):
    export_world(world)
    r = client.get(URL + ".csv", query_string={"month": "2026-11"}, headers=headers(world.staff_a))
    assert r.is_streamed and r.headers["Cache-Control"] == "no-store"
    rows = read_csv(r)
    assert len(rows) == 1  # E1; E2 not measured; E3 is puskesmas B's
    row = rows[0]
    assert (row["NIK anak"], row["NIK ibu"], row["No. KK"]) == (NIK, MOTHER_NIK, KK)
    assert row["Nama anak"] == "Sari Dewi" and row["Tanggal lahir"] == "2024-03-05" and row["Jenis kelamin (L/P)"] == "P"
    assert (row["Anak ke-"], row["Berat lahir (kg)"], row["Panjang lahir (cm)"]) == ("2", "3.15", "49.0")
    assert (row["Nama ayah"], row["No. HP orang tua"], row["RT"], row["RW"]) == ("Budi", "+6281234567890", "002", "005")
    assert (row["Kode provinsi"], row["Kab/kota"], row["Kode kecamatan"], row["Desa/kelurahan"]) == \
        ("35", "Kabupaten Gresik", "35.25.01", "Giri")
    assert (row["Kode puskesmas"], row["Posyandu"], row["Memiliki buku KIA"]) == ("P3525010101", "Posyandu Melati", "Ya")
    assert (row["Tanggal pengukuran"], row["Umur (bulan)"], row["Berat badan (kg)"], row["Tinggi/panjang badan (cm)"],
            row["Cara ukur"], row["LiLA (cm)"], row["Lingkar kepala (cm)"]) == \
        ("2026-11-10", "32", "9.2", "78.4", "telentang", "14.1", "46.0")
    assert (row["Status TB/U"], row["ZS TB/U"], row["Status BB/TB"], row["Status LiLA"]) == \
        ("Pendek", "-2.31", "Gizi baik", "Normal")
    assert (row["N/T/O/B"], row["2T"], row["BGM"], row["Vitamin A"], row["ASI eksklusif"], row["Nilai tidak wajar (WHO)"]) \
        == ("N", "Tidak", "Tidak", "Ya", "", "Tidak")
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export_identifiers")).all()
    assert len(events) == 1 and events[0].user_id == world.staff_a.id
    assert events[0].entity_id == "eppgbm:puskesmas:P3525010101"
    assert NIK not in str(events[0].changes)
    listed = client.get("/api/v1/audit", query_string={"entity": "report"}, headers=headers(world.admin)).get_json()
    assert [e["action"] for e in listed["items"]] == ["export_identifiers"]


def test_kader_get_masked_identifiers_and_cannot_ask_for_clear_ones(client, world):
    export_world(world)
    rows = read_csv(client.get(URL + ".csv", query_string={"month": "2026-11"}, headers=headers(world.kader_a1)))
    assert (rows[0]["NIK anak"], rows[0]["NIK ibu"], rows[0]["No. KK"]) == \
        ("3525********0001", "3525********0002", "3525********0003")
    r = client.get(URL + ".csv", query_string={"month": "2026-11", "nik": "clear"}, headers=headers(world.kader_a1))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    masked = read_csv(client.get(URL + ".csv", query_string={"month": "2026-11", "nik": "masked", "level": "kabupaten",
                                                             "code": "35.25"}, headers=headers(world.dinkes_gresik)))
    assert [r["NIK anak"] for r in masked] == ["3525********0001", ""]  # E1, E3 (Puskesmas Kebomas first)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "export_identifiers")) == 0


def test_flagged_values_and_include_all(client, world):
    export_world(world)
    rows = read_csv(client.get(URL + ".csv", query_string={"month": "2026-11", "level": "kabupaten", "code": "35.25",
                                                           "include": "all"}, headers=headers(world.dinkes_gresik)))
    assert [r["Nama anak"] for r in rows] == ["Raka", "Sari Dewi", "Dimas"]  # by puskesmas, posyandu, name
    raka, dimas = rows[0], rows[2]
    assert raka["Tanggal pengukuran"] == "" and raka["Berat badan (kg)"] == "" and raka["Vitamin A"] == ""
    assert dimas["ZS BB/U"] == "" and dimas["Nilai tidak wajar (WHO)"] == "Ya" and dimas["N/T/O/B"] == "O"


def test_xlsx_keeps_nik_as_text(client, world):
    export_world(world)
    r = client.get(URL + ".xlsx", query_string={"month": "2026-11", "lang": "en"}, headers=headers(world.staff_a))
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    h = next(row[0].row for row in sheet.iter_rows(min_col=1, max_col=1) if row[0].value == "Child NIK")
    header = [c.value for c in sheet[h]]
    values = dict(zip(header, [c.value for c in sheet[h + 1]]))
    assert values["Child NIK"] == NIK and sheet.cell(h + 1, 1).data_type == "s"
    assert values["Weight (kg)"] == 9.2 and values["Length/height-for-age z"] == -2.31
    assert values["Measurement date"].date() == date(2026, 11, 10)


def test_the_export_is_a_stream_of_rows(world):
    export_world(world)
    scope = Scope(user_id=world.admin.id, role="admin")
    area = resolve_area(scope, "kabupaten", "35.25")
    document = eppgbm.eppgbm_document(scope, area, Month(2026, 11), {"nik": "masked"})
    rows = document.tables[0].rows
    assert inspect.isgenerator(rows)
    assert next(rows)["name"] == "Sari Dewi"
    rows.close()


def test_wrong_tenants(client, world):
    export_world(world)
    for user, level, code in [(world.staff_b, "puskesmas", "P3525010101"), (world.kader_a2, "posyandu", "PY-A1"),
                              (world.dinkes_lamongan, "kabupaten", "35.25"), (world.parent_1, "posyandu", "PY-A1")]:
        r = client.get(URL + ".csv", query_string={"month": "2026-11", "level": level, "code": code},
                       headers=headers(user))
        assert r.status_code == 404, user.username


def test_cli_export(runner, world, tmp_path):
    export_world(world)
    out = tmp_path / "eppgbm.csv"
    result = runner.invoke(args=["reports", "eppgbm", "--area", "posyandu:PY-A1", "--month", "2026-11",
                                 "-o", str(out), "--as-user", "kader.melati"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["NIK anak"] for r in rows] == ["3525********0001"]
    refused = runner.invoke(args=["reports", "eppgbm", "--area", "puskesmas:P3525010101", "--month", "2026-11",
                                  "-o", str(tmp_path / "x.csv"), "--as-user", "kader.melati"])
    assert refused.exit_code == 1 and "No such area" in refused.output
    assert not (tmp_path / "x.csv").exists()
    admin = runner.invoke(args=["reports", "eppgbm", "--area", "kabupaten:35.25", "--month", "2026-11",
                                "-o", str(tmp_path / "all.xlsx"), "--option", "include=all"])
    assert admin.exit_code == 0, admin.output
    sheet = openpyxl.load_workbook(tmp_path / "all.xlsx").active
    assert NIK in [c.value for c in sheet["A"]]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".partial")] == []
