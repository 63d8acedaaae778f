"""GET /feeds/command-centre: scope, small-count suppression, ETag/304, rate limit, no personal data."""
from __future__ import annotations

import json
import math

from scipy.stats import t as student_t

from posyandu.core.schedule import add_months
from posyandu.extensions import db
from posyandu.feeds import operations as feed_ops
from tests import factories
from tests.charts.conftest import at_z, lms

from .conftest import today_wib


def _area(body, code):
    return next(a for a in body["areas"] if a["code"] == code)


def _this_month(area):
    return area["months"][-1]


def _stunted_world(world, visit, stunted=5, normal=2):
    """Giri (desa of posyandu A1): ``stunted + normal`` boys 32 months old (the world's child of
    A1 among them) measured today standing, at -3.2 SD (stunted) or at the median of the WHO
    length/height-for-age table for their age; Kawisanyar (A2): one girl at the median."""
    on = today_wib()
    birth = add_months(on, -32)
    age_days = (on - birth).days
    l, m, s = lms("length_height_for_age.csv", 1, age_days)
    short, tall = round(at_z(l, m, s, -3.2), 1), round(m, 1)
    kids = [world.child_a1] + [factories.child(world.posyandu_a1, f"Anak {i}", birth_date=birth)
                               for i in range(stunted + normal - 1)]
    world.child_a1.birth_date = birth
    world.child_a2.birth_date = birth
    db.session.flush()
    for i, kid in enumerate(kids):
        height = short if i < stunted else tall
        visit(kid, on, weight_kg=11.0 if i < stunted else 13.8, length_cm=height, measure_method="standing")
    l2, m2, s2 = lms("length_height_for_age.csv", 2, age_days)
    visit(world.child_a2, on, weight_kg=13.5, length_cm=round(m2, 1), measure_method="standing")
    return on


def test_the_key_sees_its_kabupaten_only(world, make_client, feed):
    gresik = make_client()["api_key"]
    body = feed(gresik).json
    assert body["kabupaten"] == {"level": "kabupaten", "code": "35.25", "name": "Kabupaten Gresik"}
    codes = {(a["level"], a["code"]) for a in body["areas"]}
    assert codes == {("kecamatan", "35.25.01"), ("kecamatan", "35.25.02"), ("desa", "35.25.01.2001"),
                     ("desa", "35.25.01.2002"), ("desa", "35.25.02.2001")}
    assert _area(body, "35.25.01.2002")["kecamatan_code"] == "35.25.01"
    assert len(body["months"]) == 13 and body["months"][-1] == body["current_month"]
    assert all(len(a["months"]) == 13 for a in body["areas"])
    lamongan = feed(make_client("35.24", name="Lamongan")["api_key"]).json
    assert {a["code"] for a in lamongan["areas"]} == {"35.24.01", "35.24.01.2001"}


def test_sign_ins_and_bad_keys_are_refused(client, world, make_client, feed):
    key = make_client()["api_key"]
    assert feed().status_code == 401
    assert feed("pgcc_" + "x" * 43).status_code == 401
    assert feed(key, header="x-api-key").status_code == 200
    for user in (world.admin, world.dinkes_gresik, world.staff_a, world.kader_a1, world.parent_1):
        r = client.get("/api/v1/feeds/command-centre", headers=factories.headers(user))
        assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert client.get("/api/v1/feeds/command-centre",
                      headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
    # the key opens nothing else
    for path in ("/api/v1/children", "/api/v1/auth/me", "/api/v1/early-warnings/counts?area=kabupaten:35.25",
                 "/api/v1/api-clients"):
        assert client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code == 401, path
        assert client.get(path, headers={"X-API-Key": key}).status_code == 401, path


def test_small_counts_are_suppressed_and_rates_withheld(world, make_client, feed, visit):
    _stunted_world(world, visit)
    body = feed(make_client()["api_key"]).json
    assert body["suppression"] == {"threshold": 5, "marker": "<5", "complementary_marker": "withheld"}
    kebomas, giri, kawisanyar = (_this_month(_area(body, c)) for c in ("35.25.01", "35.25.01.2001", "35.25.01.2002"))
    # Kawisanyar: one child -> "<5"; Giri's 7 would give it back (8 - 7): withheld too
    assert kawisanyar["registered"] == "<5" and kawisanyar["measured"] == "<5"
    assert giri["registered"] == "withheld" and giri["measured"] == "withheld"
    assert kebomas["registered"] == 8 and kebomas["measured"] == 8 and kebomas["weighed"] == 8
    assert kebomas["ds"] == {"pct": 100.0, "withheld": None}
    assert giri["ds"] == {"pct": None, "withheld": "small_count"}
    # stunting: Giri 5 of 7, Kawisanyar 0 of 1, Kebomas 5 of 8
    assert giri["stunting"]["cases"] == 5 and giri["stunting"]["n"] == "withheld"
    assert giri["stunting"]["pct"] is None and giri["stunting"]["withheld"] == "small_count"
    assert kawisanyar["stunting"] == {"cases": 0, "n": "<5", "pct": None, "ci_low": None, "ci_high": None,
                                      "withheld": "small_count"}
    # Kebomas: WHO anthro's estimate by hand: r = 5/8, logit CI with t(0.975, N - 1), N = 8
    r, n, N = 5 / 8, 8, 8
    half = student_t.ppf(0.975, N - 1) * math.sqrt(N / (N - 1) / (n * r * (1 - r)))
    logit = math.log(r / (1 - r))
    expected = {"cases": 5, "n": 8, "pct": 62.5, "ci_low": round(100 / (1 + math.exp(-(logit - half))), 1),
                "ci_high": round(100 / (1 + math.exp(-(logit + half))), 1), "withheld": None}
    assert kebomas["stunting"] == expected
    # Manyar: one child, registered but not measured
    manyar = _this_month(_area(body, "35.25.02"))
    assert manyar["registered"] == "<5" and manyar["measured"] == 0
    assert manyar["stunting"]["withheld"] == "no_data"      # nobody measured: nothing to hide
    # past months: nothing measured, slow indicators not computed
    past = _area(body, "35.25.01")["months"][0]
    assert past["measured"] == 0 and past["stunting"]["withheld"] == "no_data"
    assert past["early_warning"] is None and past["overdue_doses"] is None
    assert body["slow_indicators_months"] == [body["current_month"]]


def test_no_personal_fields_in_the_payload(world, make_client, feed, visit):
    _stunted_world(world, visit)
    response = feed(make_client()["api_key"])
    text = response.get_data(as_text=True)
    for secret in (str(world.child_a1.id), "Ahmad", "Putri", "Siti", "Anak 1", "Budi", "mother", "birth", "nik",
                   "PY-A1", "Posyandu Melati", "+62"):
        assert secret.lower() not in text.lower(), secret
    allowed = {"kabupaten", "generated_at", "current_month", "months", "suppression", "slow_indicators_months",
               "areas", "level", "code", "name", "threshold", "marker", "complementary_marker", "kecamatan_code",
               "month", "registered", "measured", "weighed", "ds", "pct", "withheld", "stunting", "wasting",
               "underweight", "cases", "n", "ci_low", "ci_high", "two_t", "bgm", "idl", "infants", "complete",
               "overdue_doses", "children_overdue", "early_warning", "quality_class", "last_update"}

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)
    assert set(keys(json.loads(text))) <= allowed


def test_etag_and_304_without_computing(world, make_client, feed, visit, monkeypatch):
    key = make_client()["api_key"]
    first = feed(key)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, max-age=60"

    def boom(*args, **kwargs):
        raise AssertionError("the 304 path computed the aggregates")
    glance = feed_ops.area_glance
    monkeypatch.setattr(feed_ops, "area_glance", boom)
    again = feed(key, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "private, max-age=60"
    monkeypatch.setattr(feed_ops, "area_glance", glance)
    # a new measurement changes the ETag; the old one then gets the full feed
    visit(world.child_a1, today_wib(), weight_kg=12.0, length_cm=90.0, measure_method="standing")
    changed = feed(key, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # another kabupaten's key: another ETag
    other = feed(make_client("35.24", name="Lamongan")["api_key"])
    assert other.headers["ETag"] != changed.headers["ETag"]


def test_recomputed_at_most_once_per_interval_and_past_months_kept(app, world, make_client, feed, visit,
                                                                    monkeypatch):
    key = make_client()["api_key"]
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", 300)
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_PAST_MONTHS_SECONDS", 3600)
    first = feed(key)
    etag = first.headers["ETag"]
    today = today_wib()
    visit(world.child_a1, today, weight_kg=12.0, length_cm=90.0, measure_method="standing")
    # within the interval the kept feed is served: still 304
    assert feed(key, headers={"If-None-Match": etag}).status_code == 304
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_MIN_RECOMPUTE_SECONDS", 0)
    now = feed(key, headers={"If-None-Match": etag})
    assert now.status_code == 200 and now.headers["ETag"] != etag
    assert _this_month(_area(now.json, "35.25.01.2001"))["measured"] == "<5"
    # a late entry for last month: the past months come from the hour's cache ...
    last_month = today.replace(day=1) - __import__("datetime").timedelta(days=1)
    visit(world.child_a2, last_month, weight_kg=12.0, length_cm=90.0, measure_method="standing")
    kept = feed(key)
    assert _area(kept.json, "35.25.01.2002")["months"][-2]["measured"] == 0
    # ... until it expires
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_PAST_MONTHS_SECONDS", 0)
    fresh = feed(key)
    assert _area(fresh.json, "35.25.01.2002")["months"][-2]["measured"] == "<5"


def test_rate_limited_per_key(app, world, make_client, feed, monkeypatch):
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_RATE_LIMIT", "3 per minute")
    key = make_client()["api_key"]
    other = make_client(name="Second screen")["api_key"]
    for _ in range(3):
        assert feed(key).status_code in (200, 304)
    blocked = feed(key)
    assert blocked.status_code == 429 and blocked.mimetype == "application/problem+json"
    assert int(blocked.headers["Retry-After"]) > 0
    assert feed(other).status_code == 200     # each key has its own bucket


def test_failed_keys_are_limited_per_address(world, make_client, feed):
    key = make_client()["api_key"]
    here = {"environ_base": {"REMOTE_ADDR": "10.9.8.7"}}
    for i in range(20):
        assert feed(f"pgcc_wrong{i:02d}" + "x" * 36, **here).status_code == 401
    assert feed(key, **here).status_code == 429
    assert feed(key).status_code == 200     # another address


def test_the_feed_is_in_the_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/feeds/command-centre"]["get"]
    assert {"apiKeyHeader": []} in op["security"] and {"304", "401", "403", "429"} <= set(op["responses"])
    assert op["responses"]["200"]["content"]["application/json"]["example"]["areas"]
    assert "/api/v1/api-clients/{client_id}/rotate" in spec["paths"]


def test_background_computation_serves_503_first_then_the_feed(app, world, make_client, feed, monkeypatch):
    """Production computes in a thread: a first poll that outlasts the wait gets 503 + Retry-After;
    once the thread is done, the feed is served (and a kept feed is served while it recomputes)."""
    import threading
    key = make_client()["api_key"]
    release = threading.Event()

    def slow_build(kabupaten_code, today):
        release.wait(10)
        return {"areas": [], "kabupaten": {"code": "35.25"}}, None
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_BACKGROUND", True)
    monkeypatch.setattr(feed_ops, "build_feed", slow_build)
    monkeypatch.setattr(feed_ops, "WAIT_SECONDS", 0.05)
    first = feed(key)
    assert first.status_code == 503 and first.mimetype == "application/problem+json"
    assert int(first.headers["Retry-After"]) > 0
    running = feed_ops._RUNNING.get("3525")
    release.set()
    if running is not None:
        assert running.wait(10)
    ready = feed(key)
    assert ready.status_code == 200 and ready.json["kabupaten"] == {"code": "35.25"}


def test_background_computation_reads_while_the_first_poll_waits(app, world, make_client, feed, monkeypatch):
    """A first poll gets the feed when the computing thread finishes within the wait. (The
    "database is locked" of `make run`'s file SQLite, where the waiting request held the write
    lock, does not reproduce on the test database; it was checked by hand on `make run`.)"""
    key = make_client()["api_key"]
    monkeypatch.setitem(app.config, "COMMAND_CENTRE_BACKGROUND", True)
    monkeypatch.setattr(feed_ops, "WAIT_SECONDS", 60)
    first = feed(key)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert first.json["kabupaten"]["code"] == "35.25"


def test_past_months_reused_from_the_stored_feed_equal_computed_ones(app, world, make_client, feed, visit,
                                                                      monkeypatch):
    """The next computation takes the 12 past months' rows from the stored feed (JSON): the
    published past months are the same as when they are computed afresh."""
    key = make_client()["api_key"]
    last_month = today_wib().replace(day=1) - __import__("datetime").timedelta(days=3)
    visit(world.child_a1, last_month, weight_kg=12.0, length_cm=90.0, measure_method="standing")
    fresh = feed(key).json
    past_calls = []
    glance = feed_ops.area_glance

    def counting(area, months, *args, **kwargs):
        past_calls.append(len(months))
        return glance(area, months, *args, **kwargs)
    monkeypatch.setattr(feed_ops, "area_glance", counting)
    visit(world.child_a2, today_wib(), weight_kg=11.0, length_cm=88.0, measure_method="standing")
    reused = feed(key).json
    assert past_calls == [1]   # only the current month was computed
    for a, b in zip(fresh["areas"], reused["areas"]):
        assert (a["code"], a["months"][:-1]) == (b["code"], b["months"][:-1])
