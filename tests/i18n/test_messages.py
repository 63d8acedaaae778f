"""Every message a user can see, in the caller's language (issue 9 §3; docs/errors-and-languages.md).

The language: the account's preference, then ``Accept-Language``, then Bahasa Indonesia.
The catalogue must translate every message the code raises (found by ``scan.py``), every
message marshmallow and webargs produce, every problem title and the HTTP descriptions we
answer with.
"""
from __future__ import annotations

import inspect
import json
import uuid

import marshmallow as ma
import pytest
from marshmallow import fields, validate
from werkzeug import exceptions as http

from posyandu import i18n
from posyandu.errors import TITLES
from posyandu.extensions import db

from tests import factories
from tests.i18n.scan import all_messages

API = "/api/v1"


# ------------------------------------------------------------------------------------- catalogue
def _sample(skeleton: str) -> str:
    return skeleton.replace("{}", "X")


def test_every_message_raised_in_the_code_has_an_indonesian_translation():
    missing = sorted({f"{found.where}: {found.skeleton!r}" for found in all_messages()
                      if found.skeleton.replace("{}", "").strip()
                      and i18n.catalogue().lookup(_sample(found.skeleton)) is None})
    assert not missing, "add these to posyandu/i18n/data/messages_id.json:\n" + "\n".join(missing)


def _marshmallow_messages():
    """Messages as marshmallow 4 formats them, from its own field and validator classes."""
    out = set()
    for _, cls in inspect.getmembers(fields, inspect.isclass):
        for key, template in (getattr(cls, "default_error_messages", None) or {}).items():
            try:
                out.add(template.format(input="X", obj_type="datetime", awareness="aware", choices="a, b"))
            except (KeyError, IndexError):
                pass
    for _, cls in inspect.getmembers(ma.schema, inspect.isclass):
        for message in (getattr(cls, "_default_error_messages", None) or {}).values():
            out.add(message)
    for obj_type in ("date", "datetime", "time", "aware datetime", "naive datetime"):
        out.add(f"Not a valid {obj_type}.")
    cases = [(validate.Range(min=1), 0), (validate.Range(max=1), 2), (validate.Range(min=1, max=2), 3),
             (validate.Range(min=1, min_inclusive=False), 1), (validate.Range(max=1, max_inclusive=False), 1),
             (validate.Range(min=1, max=2, min_inclusive=False, max_inclusive=False), 3),
             (validate.Length(min=2), "a"), (validate.Length(max=1), "ab"), (validate.Length(min=1, max=2), ""),
             (validate.Length(equal=4), "ab"), (validate.OneOf(["a", "b"]), "c"), (validate.Regexp("^a$"), "b"),
             (validate.Equal("a"), "b"), (validate.NoneOf(["a"]), "a"), (validate.Email(), "x"),
             (validate.URL(), "x"), (validate.ContainsOnly(["a"]), ["b"])]
    for validator, value in cases:
        try:
            validator(value)
        except ma.ValidationError as error:
            out.update(error.messages)
    out.add("Invalid JSON body.")   # webargs
    return sorted(out)


@pytest.mark.parametrize("message", _marshmallow_messages())
def test_marshmallow_and_webargs_messages_are_translated(message):
    assert i18n.catalogue().lookup(message) is not None, message


@pytest.mark.parametrize("title", sorted(set(TITLES.values())))
def test_every_problem_title_is_translated(title):
    assert i18n.catalogue().lookup(title) is not None


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500, 503])
def test_http_descriptions_are_translated(code):
    exception = http.default_exceptions[code]
    assert i18n.catalogue().lookup(exception.description) is not None, exception.description
    assert i18n.catalogue().lookup(exception().name) is not None, exception().name


def test_catalogue_has_no_duplicate_entries():
    from importlib import resources
    text = resources.files("posyandu.i18n").joinpath("data/messages_id.json").read_text(encoding="utf-8")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})
        return dict(pairs)
    json.loads(text, object_pairs_hook=no_duplicates)


def test_templates_translate_their_values_into_place():
    catalogue = i18n.catalogue()
    assert catalogue.lookup("Some fields are invalid: birth_date, sex") == \
        "Beberapa isian tidak valid: birth_date, sex"
    assert catalogue.lookup("Must be one of: lying, standing.") == "Harus salah satu dari: lying, standing."
    assert catalogue.lookup("nothing like any message") is None
    assert i18n.translate("Not a valid integer.", "en") == "Not a valid integer."


# ------------------------------------------------------------------------------- choosing a language
@pytest.mark.usefixtures("fresh_rate_limits")
@pytest.mark.parametrize("header, expected", [
    (None, "id"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("id-ID", "id"), ("in", "id"),
    ("fr-FR, en;q=0.5", "en"), ("fr", "id"), ("en;q=0.3, id;q=0.8", "id"), ("en;q=0", "id"), ("*", "id"),
])
def test_accept_language_for_anonymous_callers(client, world, header, expected):
    response = client.post(f"{API}/auth/login", json={"login": "nobody", "password": "wrong-password"},
                           headers={"Accept-Language": header} if header else {})
    assert response.status_code == 401
    english = "Wrong username/phone number or password."
    indonesian = i18n.catalogue().lookup(english)
    assert response.json["detail"] == (english if expected == "en" else indonesian)
    assert "(" not in response.json["detail"]    # one language, not both glued together


def test_the_account_preference_wins_over_the_header(client, world):
    world.kader_a1.language = "en"
    db.session.commit()   # survives the rollback of a request that answers >= 400
    bad = {"id": "not-a-uuid", "child_id": str(world.child_a1.id), "measured_on": "2024-09-15", "weight_kg": 7.5}
    english = client.post(f"{API}/measurements", json=bad,
                          headers=factories.headers(world.kader_a1) | {"Accept-Language": "id"})
    assert english.status_code == 422
    assert english.json["title"] == "Invalid input" and english.json["errors"]["id"] == ["Not a valid UUID."]
    indonesian = client.post(f"{API}/measurements", json=bad,
                             headers=factories.headers(world.kader_a2) | {"Accept-Language": "en"})
    assert indonesian.json["title"] == "Masukan tidak valid"
    assert indonesian.json["errors"]["id"] == [i18n.catalogue().lookup("Not a valid UUID.")]


def test_a_request_that_fails_before_the_account_is_loaded_uses_the_token_language(client, world):
    """/users parses its body before the role check: the language comes from the token."""
    world.admin.language = "en"
    db.session.commit()   # survives the rollback of a request that answers >= 400
    response = client.post(f"{API}/users", json={"role": "kader"}, headers=factories.headers(world.admin))
    assert response.status_code == 422
    assert response.json["errors"]["full_name"] == ["Missing data for required field."]


# ------------------------------------------------------------------------------------- messages
def test_one_title_per_problem_type(client, world):
    """webargs (unknown query value) and marshmallow raised in operations used to answer
    "Unprocessable Entity" and "Invalid input" for the same type."""
    h = factories.headers(world.kader_a1) | {"Accept-Language": "en"}
    world.kader_a1.language = "en"
    db.session.commit()   # survives the rollback of a request that answers >= 400
    webargs = client.get(f"{API}/measurements", query_string={"posyandu_id": world.posyandu_a1.id,
                                                              "month": "2024-13"}, headers=h)
    body_error = client.post(f"{API}/children", json={"id": str(uuid.uuid4()), "posyandu_id": world.posyandu_a1.id,
                                                      "name": "X", "sex": 1, "birth_date": "2999-01-01"}, headers=h)
    assert webargs.status_code == body_error.status_code == 422
    assert webargs.json["type"] == body_error.json["type"] == "urn:posyandugo:problem:validation-error"
    assert webargs.json["title"] == body_error.json["title"] == "Invalid input"


def test_sex_says_what_is_accepted(client, world):
    body = {"id": str(uuid.uuid4()), "posyandu_id": world.posyandu_a1.id, "name": "Laras", "sex": "L",
            "birth_date": "2025-01-15"}
    response = client.post(f"{API}/children", json=body, headers=factories.headers(world.kader_a1))
    assert response.status_code == 422
    assert response.json["errors"]["sex"] == ["Gunakan 1 untuk laki-laki atau 2 untuk perempuan."]
    world.kader_a1.language = "en"
    db.session.commit()   # survives the rollback of a request that answers >= 400
    response = client.post(f"{API}/children", json={**body, "sex": 3}, headers=factories.headers(world.kader_a1))
    assert response.json["errors"]["sex"] == ["Use 1 for laki-laki (male) or 2 for perempuan (female)."]


def test_an_unknown_category_code_lists_the_codes(client, world):
    response = client.get(f"{API}/measurements", query_string={"posyandu_id": world.posyandu_a1.id,
                                                              "month": "2024-09", "category": "tbu.short"},
                          headers=factories.headers(world.kader_a1))
    assert response.status_code == 422
    message = response.json["errors"]["category"][0]
    assert message.startswith("Kode kategori tidak dikenal") and "tbu.stunted" in message and "bbu.normal" in message


def test_measurement_warnings_carry_a_message_in_the_callers_language(client, world):
    body = {"id": str(uuid.uuid4()), "child_id": str(world.child_a1.id), "measured_on": "2024-09-15",
            "weight_kg": 59.0}
    response = client.post(f"{API}/measurements", json=body, headers=factories.headers(world.kader_a1))
    warning = next(w for w in response.json["assessment"]["warnings"] if w["code"] == "remeasure_weight")
    assert warning["message"] == warning["label_id"] and warning["message"].startswith("Berat badan tidak wajar")
    world.kader_a1.language = "en"
    db.session.commit()   # survives the rollback of a request that answers >= 400
    again = client.get(f"{API}/measurements/{body['id']}", headers=factories.headers(world.kader_a1)).json
    warning = next(w for w in again["assessment"]["warnings"] if w["code"] == "remeasure_weight")
    assert warning["message"] == warning["label_en"] and warning["message"].startswith("Implausible weight")


def test_child_warnings_follow_the_callers_language(client, world):
    body = {"id": str(uuid.uuid4()), "posyandu_id": world.posyandu_a1.id, "name": "Tanpa NIK", "sex": 1,
            "birth_date": "2025-01-15"}
    response = client.post(f"{API}/children", json=body, headers=factories.headers(world.kader_a1))
    warning = next(w for w in response.json["warnings"] if w["code"] == "missing_identifier")
    assert warning["message"].startswith("NIK anak maupun NIK ibu belum dicatat")


def test_sync_receipts_are_translated(client, world):
    record = {"entity": "measurement", "id": str(uuid.uuid4()), "base_version": None,
              "data": {"child_id": str(world.child_a1.id), "measured_on": "2024-03-01", "weight_kg": 3.0}}
    receipt = client.post(f"{API}/sync/push", json={"records": [record]},
                          headers=factories.headers(world.kader_a1)).json["receipts"][0]
    assert receipt["status"] == "invalid"
    assert receipt["errors"]["measured_on"] == ["tidak boleh sebelum tanggal lahir anak"]


# ----------------------------------------------------------------------------------- token errors
LIBRARY_TEXTS = ("Not enough segments", "Signature verification failed", "Only non-refresh tokens are allowed",
                 "Invalid header padding", "Invalid crypto padding")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.bad-signature"])
def test_a_broken_token_is_answered_in_product_words(client, world, token):
    response = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 401
    text = json.dumps(response.json)
    assert not any(library in text for library in LIBRARY_TEXTS), text
    assert response.json["title"] == "Invalid sign-in" and "sign in again" in response.json["detail"]
    indonesian = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).json
    assert indonesian["title"] == "Masuk tidak sah" and "masuk lagi" in indonesian["detail"]


def test_a_refresh_token_sent_as_access_token_says_which_token_to_use(client, world):
    login = client.post(f"{API}/auth/login", json={"login": "kader.melati", "password": factories.PASSWORD})
    assert login.status_code == 200, login.json
    response = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {login.json['refresh_token']}",
                                                     "Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json["type"] == "urn:posyandugo:problem:wrong-token-type"
    assert "access token" in response.json["detail"] and "non-refresh" not in response.json["detail"]


def test_an_expired_token_says_to_refresh_or_sign_in(client, world, app):
    from datetime import timedelta
    from flask_jwt_extended import create_access_token
    with app.test_request_context():
        token = create_access_token(identity=str(world.kader_a1.id), expires_delta=timedelta(seconds=-60))
    response = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert response.status_code == 401 and response.json["title"] == "Sign-in expired"
    assert "refresh token" in response.json["detail"]


@pytest.mark.usefixtures("fresh_rate_limits")
def test_login_and_rate_limit_texts_come_from_the_catalogue(client, world):
    for _ in range(5):
        client.post(f"{API}/auth/login", json={"login": "kader.melati", "password": "wrong-password"})
    blocked = client.post(f"{API}/auth/login", json={"login": "kader.melati", "password": "wrong-password"})
    assert blocked.status_code == 429
    assert blocked.json["detail"] == i18n.catalogue().lookup("Too many attempts. Please wait before trying again.")
    english = client.post(f"{API}/auth/login", json={"login": "kader.melati", "password": "wrong-password"},
                          headers={"Accept-Language": "en"})
    assert english.json["detail"] == "Too many attempts. Please wait before trying again."
    assert english.json["title"] == "Too many attempts"


def test_every_problem_type_in_the_code_has_its_one_title():
    """A slug raised anywhere (``slug="..."``, a Problem subclass's ``slug``, the HTTP status map)
    is in ``errors.TITLES``, so all responses of a type carry the same title."""
    import re
    from tests.i18n.scan import ROOT
    slugs = set()
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        slugs |= set(re.findall(r'slug\s*=\s*"([a-z0-9-]+)"', text))
        slugs |= set(re.findall(r'^\s+slug = "([a-z0-9-]+)"', text, re.MULTILINE))
        slugs |= set(re.findall(r'\b[1-5]\d\d: "([a-z0-9-]+)"', text))
    assert slugs, "the scan found no slug at all"
    assert sorted(slugs - set(TITLES)) == []
