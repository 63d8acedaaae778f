"""/api/v1/regions, /puskesmas, /posyandu: reference data, scoping (404 outside the area),
validation (422 naming the field, nothing changed), retries and the audit trail."""
from datetime import date, timedelta

import sqlalchemy as sa

from posyandu.audit.models import AuditEvent
from posyandu.core import calendar as cal
from posyandu.extensions import db
from posyandu.regions.models import Posyandu
from tests.factories import headers, region

API = "/api/v1"


# --- regions ----------------------------------------------------------------------------------

def test_regions_filter_by_level_and_parent(client, world):
    r = client.get(f"{API}/regions?level=kecamatan&parent=35.25", headers=headers(world.kader_a1))
    assert r.status_code == 200, r.json
    assert [(x["code"], x["name"]) for x in r.json["items"]] == [("35.25.01", "Kebomas"), ("35.25.02", "Manyar")]
    assert "code_undotted" not in r.json["items"][0]  # the dotted form only (SATUSEHAT's is for its export)
    assert r.json["items"][0]["parent_code"] == "35.25"
    assert r.json["next_cursor"] is None
    # undotted parent works too
    r = client.get(f"{API}/regions?parent=352501", headers=headers(world.staff_b))
    assert [x["name"] for x in r.json["items"]] == ["Giri", "Kawisanyar"]


def test_regions_search_by_name(client, world):
    r = client.get(f"{API}/regions?q=manyar", headers=headers(world.dinkes_lamongan))
    assert {x["name"] for x in r.json["items"]} == {"Manyar", "Manyar Sido Rukun"}


def test_regions_cursor_pagination(client, world):
    seen, cursor = [], None
    while True:
        url = f"{API}/regions?limit=3" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url, headers=headers(world.admin))
        assert r.status_code == 200
        seen += [x["code"] for x in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 10  # the world has 10 regions
    assert seen == sorted(seen)


def test_region_detail_with_ancestors(client, world):
    r = client.get(f"{API}/regions/35.25.01.2001", headers=headers(world.kader_a1))
    assert r.status_code == 200
    assert r.json["level"] == "desa"
    assert [a["code"] for a in r.json["ancestors"]] == ["35", "35.25", "35.25.01"]
    assert client.get(f"{API}/regions/3525012001", headers=headers(world.kader_a1)).json["name"] == "Giri"
    assert client.get(f"{API}/regions/35.25.99", headers=headers(world.kader_a1)).status_code == 404


def test_regions_need_staff(client, world):
    assert client.get(f"{API}/regions").status_code == 401
    assert client.get(f"{API}/regions", headers=headers(world.parent_1)).status_code == 403


def test_regions_bad_query_is_422(client, world):
    r = client.get(f"{API}/regions?level=dusun", headers=headers(world.admin))
    assert r.status_code == 422
    assert r.mimetype == "application/problem+json"
    assert "level" in r.json["errors"]
    r = client.get(f"{API}/regions?cursor=!!notacursor", headers=headers(world.admin))
    assert r.status_code == 422 and "cursor" in r.json["errors"]
    r = client.get(f"{API}/regions?parent=35.2", headers=headers(world.admin))
    assert r.status_code == 422 and "parent" in r.json["errors"]


# --- puskesmas --------------------------------------------------------------------------------

def _codes(response):
    return [x["code"] for x in response.json["items"]]


def test_puskesmas_list_is_scoped(client, world):
    assert _codes(client.get(f"{API}/puskesmas", headers=headers(world.admin))) == [
        "P3524010101", "P3525010101", "P3525020101"]
    assert _codes(client.get(f"{API}/puskesmas", headers=headers(world.dinkes_gresik))) == [
        "P3525010101", "P3525020101"]
    assert _codes(client.get(f"{API}/puskesmas", headers=headers(world.dinkes_lamongan))) == ["P3524010101"]
    assert _codes(client.get(f"{API}/puskesmas", headers=headers(world.staff_b))) == ["P3525020101"]
    assert _codes(client.get(f"{API}/puskesmas", headers=headers(world.kader_a2))) == ["P3525010101"]


def test_puskesmas_detail_and_wrong_tenant(client, world):
    r = client.get(f"{API}/puskesmas/{world.puskesmas_a.id}", headers=headers(world.staff_a))
    assert r.status_code == 200
    assert r.json["desa_codes"] == ["35.25.01.2001", "35.25.01.2002"]
    assert r.json["kecamatan_code"] == "35.25.01"
    assert client.get(f"{API}/puskesmas/{world.puskesmas_a.id}", headers=headers(world.staff_b)).status_code == 404
    assert client.get(f"{API}/puskesmas/{world.puskesmas_a.id}",
                      headers=headers(world.dinkes_lamongan)).status_code == 404
    assert client.get(f"{API}/puskesmas/{world.puskesmas_a.id}", headers=headers(world.kader_b1)).status_code == 404


# --- posyandu: read ---------------------------------------------------------------------------

def test_posyandu_list_is_scoped(client, world):
    assert _codes(client.get(f"{API}/posyandu", headers=headers(world.admin))) == ["PY-A1", "PY-A2", "PY-B1", "PY-C1"]
    assert _codes(client.get(f"{API}/posyandu", headers=headers(world.dinkes_gresik))) == ["PY-A1", "PY-A2", "PY-B1"]
    assert _codes(client.get(f"{API}/posyandu", headers=headers(world.dinkes_lamongan))) == ["PY-C1"]
    assert _codes(client.get(f"{API}/posyandu", headers=headers(world.staff_a))) == ["PY-A1", "PY-A2"]
    assert _codes(client.get(f"{API}/posyandu", headers=headers(world.kader_a2))) == ["PY-A2"]


def test_posyandu_list_filters_and_pages(client, world):
    h = headers(world.admin)
    assert _codes(client.get(f"{API}/posyandu?puskesmas_id={world.puskesmas_a.id}", headers=h)) == ["PY-A1", "PY-A2"]
    assert _codes(client.get(f"{API}/posyandu?desa=35.25.01.2002", headers=h)) == ["PY-A2"]
    assert _codes(client.get(f"{API}/posyandu?kabupaten=3524", headers=h)) == ["PY-C1"]
    assert _codes(client.get(f"{API}/posyandu?kecamatan=35.25.02", headers=h)) == ["PY-B1"]
    assert _codes(client.get(f"{API}/posyandu?q=mawar", headers=h)) == ["PY-A2"]
    first = client.get(f"{API}/posyandu?limit=3", headers=h).json
    assert [x["code"] for x in first["items"]] == ["PY-A1", "PY-A2", "PY-B1"]
    second = client.get(f"{API}/posyandu?limit=3&cursor={first['next_cursor']}", headers=h).json
    assert [x["code"] for x in second["items"]] == ["PY-C1"] and second["next_cursor"] is None
    # a filter outside the caller's area finds nothing rather than leaking
    assert _codes(client.get(f"{API}/posyandu?kabupaten=3524", headers=headers(world.dinkes_gresik))) == []
    r = client.get(f"{API}/posyandu?kabupaten=35.2x", headers=h)
    assert r.status_code == 422 and "kabupaten" in r.json["errors"]


def test_posyandu_detail_carries_zone_rule_and_next_session(client, world):
    r = client.get(f"{API}/posyandu/{world.posyandu_a1.id}", headers=headers(world.kader_a1))
    assert r.status_code == 200, r.json
    body = r.json
    assert body["timezone"] == "Asia/Jakarta" and body["timezone_label"] == "WIB"
    assert body["session_rule"] == "nth_weekday:2:TUE"
    assert body["session_start"] == "08:00" and body["session_end"] == "11:00"
    assert body["schedule_description"] == {"id": "Setiap Selasa kedua, 08.00–11.00 WIB",
                                            "en": "Every second Tuesday, 08:00–11:00 WIB"}
    assert body["desa_code"] == "35.25.01.2001" and body["desa_name"] == "Giri"
    assert body["puskesmas"]["code"] == "P3525010101"
    nxt = date.fromisoformat(body["next_session"]["date"])
    assert nxt.weekday() == 1 and 8 <= nxt.day <= 14  # a second Tuesday
    assert nxt >= cal.local_today("Asia/Jakarta")
    assert body["next_session"]["display"].startswith("Selasa, ")
    assert body["next_session"]["display"].endswith(" pukul 08.00 WIB")


def test_posyandu_wrong_tenant_is_404(client, world):
    a1 = world.posyandu_a1.id
    assert client.get(f"{API}/posyandu/{a1}", headers=headers(world.kader_a2)).status_code == 404
    assert client.get(f"{API}/posyandu/{a1}", headers=headers(world.staff_b)).status_code == 404
    assert client.get(f"{API}/posyandu/{a1}", headers=headers(world.dinkes_lamongan)).status_code == 404
    assert client.get(f"{API}/posyandu/{world.posyandu_c1.id}",
                      headers=headers(world.dinkes_gresik)).status_code == 404
    assert client.get(f"{API}/posyandu/{a1}", headers=headers(world.parent_1)).status_code == 403
    assert client.get(f"{API}/posyandu/999999", headers=headers(world.admin)).status_code == 404


# --- posyandu: update -------------------------------------------------------------------------

def _audit_count(entity_id):
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.entity == "posyandu", AuditEvent.entity_id == str(entity_id)))


def test_update_by_staff_changes_schedule_and_audits(client, world):
    a1 = world.posyandu_a1.id
    r = client.patch(f"{API}/posyandu/{a1}", headers=headers(world.staff_a), json={
        "name": "Posyandu Melati Indah", "session_rule": "nth_weekday:-1:fri", "session_start": "07.30",
        "session_end": "10:30", "address": "Balai RW 03"})
    assert r.status_code == 200, r.json
    assert r.json["session_rule"] == "nth_weekday:-1:FRI"
    assert r.json["schedule_description"]["id"] == "Setiap Jumat terakhir, 07.30–10.30 WIB"
    nxt = date.fromisoformat(r.json["next_session"]["date"])
    assert nxt.weekday() == 4 and (nxt + timedelta(days=7)).month != nxt.month  # a last Friday
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == "posyandu",
                                                           AuditEvent.entity_id == str(a1))).one()
    assert event.action == "update" and event.user_id == world.staff_a.id
    assert event.changes["session_rule"] == ["nth_weekday:2:TUE", "nth_weekday:-1:FRI"]
    assert event.changes["session_start"] == ["08:00", "07:30"]
    # the same request again changes nothing and writes no second audit event
    r = client.patch(f"{API}/posyandu/{a1}", headers=headers(world.staff_a), json={"session_rule": "nth_weekday:-1:FRI"})
    assert r.status_code == 200 and _audit_count(a1) == 1


def test_timezone_override_and_reset(client, world):
    a1 = world.posyandu_a1.id
    r = client.patch(f"{API}/posyandu/{a1}", headers=headers(world.dinkes_gresik), json={"timezone": "Asia/Makassar"})
    assert r.status_code == 200, r.json
    assert (r.json["timezone"], r.json["timezone_label"], r.json["timezone_overridden"]) == ("Asia/Makassar", "WITA", True)
    assert r.json["schedule_description"]["en"] == "Every second Tuesday, 08:00–11:00 WITA"
    r = client.patch(f"{API}/posyandu/{a1}", headers=headers(world.admin), json={"timezone": None})
    assert (r.json["timezone"], r.json["timezone_label"], r.json["timezone_overridden"]) == ("Asia/Jakarta", "WIB", False)


def test_update_wrong_tenant_and_kader(client, world):
    a1 = world.posyandu_a1.id
    assert client.patch(f"{API}/posyandu/{a1}", headers=headers(world.staff_b), json={"name": "X"}).status_code == 404
    assert client.patch(f"{API}/posyandu/{a1}", headers=headers(world.dinkes_lamongan),
                        json={"name": "X"}).status_code == 404
    assert client.patch(f"{API}/posyandu/{a1}", headers=headers(world.kader_a2), json={"name": "X"}).status_code == 404
    # her own posyandu: visible, but a kader may not change it
    assert client.patch(f"{API}/posyandu/{a1}", headers=headers(world.kader_a1), json={"name": "X"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Posyandu, a1).name == "Posyandu Melati"
    assert _audit_count(a1) == 0


def test_update_bad_input_is_422_and_changes_nothing(client, world):
    a1 = world.posyandu_a1.id
    cases = [({"session_rule": "nth_weekday:5:TUE"}, "session_rule"),
             ({"session_rule": "every tuesday"}, "session_rule"),
             ({"session_start": "25:00"}, "session_start"),
             ({"session_start": "11:00", "session_end": "08:00"}, "session_end"),
             ({"session_end": "07:00"}, "session_end"),  # before the stored start 08:00
             ({"timezone": "Europe/Amsterdam"}, "timezone"),
             ({"name": ""}, "name"),
             ({"name": "Posyandu Baru", "unknown_field": 1}, "unknown_field")]
    for body, field in cases:
        r = client.patch(f"{API}/posyandu/{a1}", headers=headers(world.staff_a), json=body)
        assert r.status_code == 422, (body, r.json)
        assert r.mimetype == "application/problem+json"
        assert field in r.json["errors"], (body, r.json)
    db.session.expire_all()
    p = db.session.get(Posyandu, a1)
    assert (p.name, p.session_rule, str(p.session_start), str(p.session_end), p.timezone) == (
        "Posyandu Melati", "nth_weekday:2:TUE", "08:00:00", "11:00:00", "Asia/Jakarta")
    assert _audit_count(a1) == 0


# --- posyandu: create -------------------------------------------------------------------------

def _new(world, **over):
    body = {"code": "PY-A3", "name": "Posyandu Dahlia", "desa_code": "35.25.01.2002",
            "puskesmas_id": world.puskesmas_a.id, "session_rule": "day_of_month:10",
            "session_start": "08:00", "session_end": "11:00"}
    body.update(over)
    return body


def test_create_by_staff_and_retry(client, world):
    r = client.post(f"{API}/posyandu", headers=headers(world.staff_a), json=_new(world))
    assert r.status_code == 201, r.json
    assert r.json["kabupaten_code"] == "35.25" and r.json["timezone"] == "Asia/Jakarta"
    assert r.json["timezone_overridden"] is False
    assert r.json["schedule_description"]["id"] == "Setiap tanggal 10, 08.00–11.00 WIB"
    created_id = r.json["id"]
    again = client.post(f"{API}/posyandu", headers=headers(world.staff_a), json=_new(world))
    assert again.status_code == 200 and again.json["id"] == created_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu).where(Posyandu.code == "PY-A3")) == 1
    assert _audit_count(created_id) == 1
    clash = client.post(f"{API}/posyandu", headers=headers(world.staff_a), json=_new(world, name="Lain"))
    assert clash.status_code == 409 and "code" in clash.json["errors"]
    # the new posyandu is visible to its puskesmas, not to the other one
    assert client.get(f"{API}/posyandu/{created_id}", headers=headers(world.staff_a)).status_code == 200
    assert client.get(f"{API}/posyandu/{created_id}", headers=headers(world.staff_b)).status_code == 404


def test_create_for_another_puskesmas_or_by_kader_is_refused(client, world):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu))
    r = client.post(f"{API}/posyandu", headers=headers(world.staff_b), json=_new(world))
    assert r.status_code == 422 and "puskesmas_id" in r.json["errors"]
    r = client.post(f"{API}/posyandu", headers=headers(world.dinkes_lamongan), json=_new(world))
    assert r.status_code == 422 and "puskesmas_id" in r.json["errors"]
    assert client.post(f"{API}/posyandu", headers=headers(world.kader_a1), json=_new(world)).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu)) == before


def test_create_bad_input_is_422(client, world):
    region("3525022002", "Manyar Sidomukti", "352502")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu))
    cases = [(_new(world, desa_code="35.25.01.99"), "desa_code"),
             (_new(world, desa_code="35.25.01.2999"), "desa_code"),         # no such desa
             (_new(world, desa_code="35.25.02.2002"), "desa_code"),         # not in puskesmas A's area
             (_new(world, session_rule="day_of_month:32"), "session_rule"),
             (_new(world, session_end="07:00"), "session_end"),
             (_new(world, code="PY A3 spaces"), "code"),
             (_new(world, timezone="UTC"), "timezone"),
             ({k: v for k, v in _new(world).items() if k != "name"}, "name")]
    for body, field in cases:
        r = client.post(f"{API}/posyandu", headers=headers(world.admin), json=body)
        assert r.status_code == 422, (body, r.json)
        assert field in r.json["errors"], (body, r.json)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Posyandu)) == before


def test_create_with_timezone_override(client, world):
    r = client.post(f"{API}/posyandu", headers=headers(world.dinkes_gresik),
                    json=_new(world, code="PY-A4", timezone="Asia/Jayapura"))
    assert r.status_code == 201, r.json
    assert (r.json["timezone"], r.json["timezone_label"], r.json["timezone_overridden"]) == ("Asia/Jayapura", "WIT", True)
    # naming the derived zone explicitly is not an override
    r = client.post(f"{API}/posyandu", headers=headers(world.admin),
                    json=_new(world, code="PY-A5", timezone="Asia/Jakarta"))
    assert r.json["timezone_overridden"] is False
