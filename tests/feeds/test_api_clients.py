"""API clients: made, listed, rotated and revoked by admin/dinkes; keys stored hashed; audited."""
from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa

from posyandu.apiclients.models import ApiClient
from posyandu.audit.models import AuditEvent
from posyandu.extensions import db
from tests import factories


def _audit(client_id):
    return [a for (a,) in db.session.execute(sa.select(AuditEvent.action).where(
        AuditEvent.entity == "api_client", AuditEvent.entity_id == str(client_id)).order_by(AuditEvent.id))]


def test_create_shows_the_key_once_and_stores_only_its_keyed_hash(app, client, world, make_client):
    made = make_client()
    key = made["api_key"]
    assert key.startswith("pgcc_") and len(key) == 5 + 43
    assert made["kabupaten_code"] == "35.25" and made["kind"] == "command_centre" and made["is_active"]
    assert made["key_prefix"] == key[:12]
    row = db.session.get(ApiClient, made["id"])
    expected = hmac.new(app.config["SECRET_KEY"].encode(), key.encode(), hashlib.sha256).hexdigest()
    assert row.key_hash == expected
    assert key not in {str(v) for v in vars(row).values()}
    # never readable again
    listed = client.get("/api/v1/api-clients", headers=factories.headers(world.admin)).json["items"]
    assert [c["id"] for c in listed] == [made["id"]] and "api_key" not in listed[0]
    one = client.get(f"/api/v1/api-clients/{made['id']}", headers=factories.headers(world.admin)).json
    assert "api_key" not in one
    assert _audit(made["id"]) == ["create"]


def test_dinkes_manages_only_their_kabupaten(client, world, make_client):
    gresik = make_client(user=world.dinkes_gresik)
    assert gresik["kabupaten_code"] == "35.25"
    lamongan = factories.headers(world.dinkes_lamongan)
    r = client.post("/api/v1/api-clients", json={"name": "x", "kabupaten_code": "35.25"}, headers=lamongan)
    assert r.status_code == 422 and "kabupaten_code" in r.json["errors"]
    for path in (f"/api/v1/api-clients/{gresik['id']}",):
        assert client.get(path, headers=lamongan).status_code == 404
    assert client.post(f"/api/v1/api-clients/{gresik['id']}/rotate", headers=lamongan).status_code == 404
    assert client.post(f"/api/v1/api-clients/{gresik['id']}/revoke", headers=lamongan).status_code == 404
    assert client.get("/api/v1/api-clients", headers=lamongan).json["items"] == []
    for user in (world.staff_a, world.kader_a1, world.parent_1):
        h = factories.headers(user)
        assert client.get("/api/v1/api-clients", headers=h).status_code == 403
        assert client.post("/api/v1/api-clients", json={"name": "x", "kabupaten_code": "35.25"},
                           headers=h).status_code == 403
        assert client.post(f"/api/v1/api-clients/{gresik['id']}/revoke", headers=h).status_code == 403
    assert db.session.get(ApiClient, gresik["id"]).is_active


def test_bad_input_names_the_field_and_creates_nothing(client, world):
    h = factories.headers(world.admin)
    for body, field in (({"kabupaten_code": "35.25"}, "name"), ({"name": "x"}, "kabupaten_code"),
                        ({"name": "x", "kabupaten_code": "35.25.01"}, "kabupaten_code"),
                        ({"name": "x", "kabupaten_code": "99.99"}, "kabupaten_code")):
        r = client.post("/api/v1/api-clients", json=body, headers=h)
        assert r.status_code == 422, body
        assert r.mimetype == "application/problem+json" and field in r.json["errors"]
    assert db.session.scalar(sa.select(sa.func.count(ApiClient.id))) == 0


def test_the_same_name_twice_is_a_conflict(client, world, make_client):
    make_client(name="Wall")
    r = client.post("/api/v1/api-clients", json={"name": "Wall", "kabupaten_code": "35.25"},
                    headers=factories.headers(world.admin))
    assert r.status_code == 409 and "name" in r.json["errors"]
    assert db.session.scalar(sa.select(sa.func.count(ApiClient.id))) == 1


def test_rotation_replaces_the_key_at_once(client, world, make_client, feed):
    made = make_client()
    old = made["api_key"]
    assert feed(old).status_code == 200
    r = client.post(f"/api/v1/api-clients/{made['id']}/rotate", headers=factories.headers(world.admin))
    assert r.status_code == 200
    new = r.json["api_key"]
    assert new != old and r.json["key_prefix"] == new[:12]
    assert feed(old).status_code == 401
    assert feed(new).status_code == 200
    assert _audit(made["id"]) == ["create", "use", "rotate"]


def test_a_revoked_key_is_refused(client, world, make_client, feed):
    made = make_client()
    assert feed(made["api_key"]).status_code == 200
    h = factories.headers(world.dinkes_gresik)
    r = client.post(f"/api/v1/api-clients/{made['id']}/revoke", headers=h)
    assert r.status_code == 200 and r.json["is_active"] is False and r.json["revoked_at"]
    refused = feed(made["api_key"])
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert client.post(f"/api/v1/api-clients/{made['id']}/revoke", headers=h).status_code == 200  # idempotent
    assert client.post(f"/api/v1/api-clients/{made['id']}/rotate", headers=h).status_code == 409
    assert _audit(made["id"]) == ["create", "use", "revoke"]


def test_cli_create_list_rotate_revoke(runner, world, feed):
    out = runner.invoke(args=["api-clients", "create", "--name", "Wall", "--kabupaten", "3525"])
    assert out.exit_code == 0, out.output
    key = out.output.strip().splitlines()[-1]
    assert key.startswith("pgcc_")
    row = db.session.execute(sa.select(ApiClient)).scalar_one()
    assert row.kabupaten_code == "3525"
    listed = runner.invoke(args=["api-clients", "list"])
    assert key[:12] in listed.output and key not in listed.output
    rotated = runner.invoke(args=["api-clients", "rotate", str(row.id)])
    new = rotated.output.strip().splitlines()[-1]
    assert rotated.exit_code == 0 and new != key
    assert feed(key).status_code == 401 and feed(new).status_code == 200
    assert runner.invoke(args=["api-clients", "revoke", str(row.id)]).exit_code == 0
    assert feed(new).status_code == 401
    bad = runner.invoke(args=["api-clients", "create", "--name", "x", "--kabupaten", "35.25.01"])
    assert bad.exit_code == 1 and "--kabupaten" in bad.output
