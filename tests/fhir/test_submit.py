"""`flask fhir submit` end to end against the local fake SATUSEHAT (127.0.0.1, ephemeral port):
OAuth2 client credentials, create then update by stored server id, nothing sent twice, 401
token refresh, 429 with Retry-After, 500, a crash and a server dying mid-batch, dry run, limit,
and refusal without configuration."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from posyandu.devtools.fake_satusehat import FakeSatusehat
from posyandu.extensions import db
from posyandu.fhir import validation
from posyandu.fhir.client import SatusehatClient
from posyandu.fhir.models import FhirSubmission
from posyandu.fhir.reading import Selection
from posyandu.fhir.settings import SatusehatSettings
from posyandu.fhir.submit import submit

#: All of fhir_world (every area): 3 puskesmas, 4 posyandu, 5 children (4 with a mother),
#: 6 encounters, 17 observations, 2 doses (hand count, see test_export.py for Gresik).
EXPECTED = {"Organization": 3, "Location": 4, "Patient": 5, "RelatedPerson": 5, "Encounter": 6, "Observation": 17,
            "Immunization": 2}
TOTAL = sum(EXPECTED.values())


@pytest.fixture(scope="module")
def satusehat_server():
    with FakeSatusehat() as server:
        yield server


@pytest.fixture
def fake(satusehat_server):
    satusehat_server.reset()
    yield satusehat_server
    satusehat_server.revive()


@pytest.fixture
def settings(fake) -> SatusehatSettings:
    return SatusehatSettings.from_config({**fake.settings(), "SATUSEHAT_MAX_ATTEMPTS": 4,
                                          "SATUSEHAT_RETRY_BASE_SECONDS": 0.01})


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def run(settings, *, sleeps=None, **kwargs):
    client = SatusehatClient(settings, sleep=sleeps if sleeps is not None else Sleeps())
    try:
        return submit(settings, Selection(), client=client, **kwargs)
    finally:
        client.close()


def stored_counts(fake) -> dict:
    return {t: len(fake.resources(t)) for t in EXPECTED}


def posts_per_local_id(fake) -> dict[str, int]:
    """How many creates the server received per local record (identifier value)."""
    seen: dict[str, int] = {}
    for request in fake.writes("POST"):
        body = request["body"] or {}
        local = [i["value"] for i in body.get("identifier", []) if "sys-ids" in i["system"]]
        if local:
            seen[local[0]] = seen.get(local[0], 0) + 1
    return seen


def assert_everything_once(fake):
    assert stored_counts(fake) == EXPECTED
    # no record stored twice (each local identifier appears once on the server)
    for resource_type in EXPECTED:
        locals_ = [i["value"] for r in fake.resources(resource_type) for i in r.get("identifier", [])
                   if "sys-ids" in i["system"]]
        assert len(locals_) == len(set(locals_)) == EXPECTED[resource_type]


def test_submit_creates_everything_once_with_server_references(fake, settings, fhir_world):
    report = run(settings)
    assert report.stopped is None
    assert report.total("created") == TOTAL and report.total("refused") == report.total("invalid") == 0
    assert_everything_once(fake)
    assert fake.token_requests == 1
    # what the server received is valid R4 and references the server's ids, not ours
    patient_ids = {p["id"] for p in fake.resources("Patient")}
    encounter_ids = {e["id"] for e in fake.resources("Encounter")}
    for request in fake.writes():
        validation.validate({**request["body"], "id": "x"})
    for observation in fake.resources("Observation"):
        assert observation["subject"]["reference"].split("/")[1] in patient_ids
        assert observation["encounter"]["reference"].split("/")[1] in encounter_ids
    for organization in fake.resources("Organization"):
        assert organization["partOf"] == {"reference": "Organization/100000001"}
    state = db.session.scalars(sa.select(FhirSubmission).where(
        FhirSubmission.resource_type == "Patient", FhirSubmission.local_id == str(fhir_world.child_a1.id))).one()
    assert state.state == "sent" and state.server_id in patient_ids and len(state.content_hash) == 64


def test_rerun_sends_nothing_and_a_change_is_one_put(fake, settings, fhir_world):
    run(settings)
    writes = len(fake.writes())
    report = run(settings)
    assert report.total("unchanged") == TOTAL and len(fake.writes()) == writes  # idempotent
    fhir_world.m_a1_standing.weight_kg = 11.4
    db.session.commit()
    report = run(settings)
    assert report.total("updated") == 1 and report.total("created") == 0
    put = fake.writes("PUT")
    assert len(put) == 1 and put[0]["body"]["valueQuantity"]["value"] == 11.4
    assert put[0]["body"]["code"]["coding"][0]["code"] == "29463-7"
    assert put[0]["path"].endswith("/Observation/" + put[0]["body"]["id"])
    assert_everything_once(fake)


def test_deleted_measurement_is_sent_as_entered_in_error(fake, settings, fhir_world):
    from datetime import datetime, timezone
    run(settings)
    fhir_world.m_old.deleted_at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    db.session.commit()
    report = run(settings)
    assert report.total("updated") == 1
    [put] = fake.writes("PUT")
    assert put["body"]["status"] == "entered-in-error"


def test_token_refresh_after_401(fake, settings, fhir_world):
    calls = {"n": 0}

    def revoke_after_five(_type, _id):
        calls["n"] += 1
        if calls["n"] == 5:
            fake.revoke_tokens()  # the server forgets our token: the next call answers 401

    client = SatusehatClient(settings, sleep=Sleeps())
    report = submit(settings, Selection(), client=client, on_sent=revoke_after_five)
    assert report.stopped is None
    assert fake.token_requests == 2 and client.token_fetches == 2
    assert sum(1 for r in fake.requests if r["method"] == "POST") == TOTAL + 1  # one answered 401, then resent
    assert_everything_once(fake)


def test_429_waits_retry_after(fake, settings, fhir_world):
    fake.fail_next(429, times=1, retry_after=7)
    sleeps = Sleeps()
    report = run(settings, sleeps=sleeps)
    assert report.stopped is None
    assert sleeps[0] == 7  # Retry-After honoured (capped by SATUSEHAT_RETRY_CAP_SECONDS)
    assert_everything_once(fake)


def test_500_is_retried_with_backoff_and_nothing_is_created_twice(fake, settings, fhir_world):
    fake.fail_next(500, times=2)
    sleeps = Sleeps()
    report = run(settings, sleeps=sleeps)
    assert report.stopped is None
    assert len(sleeps) == 2  # the POST's 500, then the 500 of the search made before re-POSTing
    assert_everything_once(fake)
    assert set(posts_per_local_id(fake).values()) == {1}


def test_backoff_doubles_up_to_the_cap(fake, settings, monkeypatch):
    monkeypatch.setattr("posyandu.fhir.client.random.random", lambda: 1.0)  # no jitter
    fake.fail_next(500, times=3)
    sleeps = Sleeps()
    client = SatusehatClient(settings, sleep=sleeps)
    assert client.search_by_identifier("Patient", "urn:x", "1") is None  # 4th attempt answers
    assert sleeps == [0.01, 0.02, 0.04]
    fake.fail_next(500, times=4)
    from posyandu.fhir.client import ServerUnavailable
    with pytest.raises(ServerUnavailable):
        client.search_by_identifier("Patient", "urn:x", "1")
    client.close()


def test_server_down_stops_the_run_and_a_rerun_finishes(fake, settings, fhir_world):
    run(settings, limit=10)
    fake.fail_next(503, times=settings.max_attempts)
    report = run(settings)
    assert report.stopped and report.stopped.startswith("server unavailable")
    report = run(settings)
    assert report.stopped is None
    assert_everything_once(fake)


def test_crash_mid_batch_then_rerun(fake, settings, fhir_world):
    """The process dies after 9 records (state is committed per record): the rerun sends the
    rest, and nothing twice."""
    class Crash(Exception):
        pass

    sent = []

    def crash_after_nine(resource_type, local_id):
        sent.append(local_id)
        if len(sent) == 9:
            raise Crash()

    with pytest.raises(Crash):
        submit(settings, Selection(), client=SatusehatClient(settings, sleep=Sleeps()), on_sent=crash_after_nine)
    db.session.rollback()
    assert sum(stored_counts(fake).values()) == 9
    report = run(settings)
    assert report.total("unchanged") == 9 and report.total("created") == TOTAL - 9
    assert_everything_once(fake)
    assert set(posts_per_local_id(fake).values()) == {1}


def test_server_dies_mid_batch_and_the_lost_answer_is_recovered(fake, settings, fhir_world):
    """The 12th create is stored but its answer never arrives, then the server is gone. The
    record stays 'pending'; the rerun finds it by identifier instead of creating it again."""
    fake.die_after(11)
    report = run(settings)
    assert report.stopped and report.stopped.startswith("server unavailable")
    assert sum(stored_counts(fake).values()) == 12
    pending = db.session.scalars(sa.select(FhirSubmission).where(FhirSubmission.state == "pending")).all()
    assert len(pending) == 1 and pending[0].server_id is None
    fake.revive()
    report = run(settings)
    assert report.stopped is None
    assert_everything_once(fake)
    assert set(posts_per_local_id(fake).values()) == {1}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FhirSubmission)
                             .where(FhirSubmission.state != "sent")) == 0


def test_dry_run_sends_and_writes_nothing(fake, settings, fhir_world):
    report = run(settings, dry_run=True)
    assert report.total("created") == TOTAL and report.total("waiting") == 0
    assert fake.requests == [] and fake.token_requests == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FhirSubmission)) == 0


def test_limit_then_continue(fake, settings, fhir_world):
    report = run(settings, limit=5)
    assert report.total("created") == 5 and "limit" in report.stopped
    report = run(settings)
    assert report.total("created") == TOTAL - 5
    assert_everything_once(fake)


def test_refused_resource_is_recorded_and_retried_next_run(fake, settings, fhir_world):
    fake.fail_next(422)
    report = run(settings)
    assert report.total("refused") == 1
    [failed] = db.session.scalars(sa.select(FhirSubmission).where(FhirSubmission.state == "failed")).all()
    assert failed.last_status == 422 and "transient" in failed.last_error
    report = run(settings)
    assert report.total("created") >= 1
    assert_everything_once(fake)


def test_wrong_client_secret_stops_before_sending(fake, fhir_world):
    settings = SatusehatSettings.from_config({**fake.settings(), "SATUSEHAT_CLIENT_SECRET": "wrong"})
    from posyandu.fhir.client import AuthenticationFailed
    with pytest.raises(AuthenticationFailed):
        run(settings)
    assert fake.writes() == []


# --- the CLI ---------------------------------------------------------------------------------

def test_cli_refuses_without_configuration(runner, app, monkeypatch, fhir_world):
    for key in ("SATUSEHAT_BASE_URL", "SATUSEHAT_AUTH_URL", "SATUSEHAT_CLIENT_ID", "SATUSEHAT_CLIENT_SECRET",
                "SATUSEHAT_ORGANIZATION_ID"):
        monkeypatch.setitem(app.config, key, None)
    result = runner.invoke(args=["fhir", "submit", "--dry-run"])
    assert result.exit_code != 0
    assert "not configured" in result.output and "SATUSEHAT_CLIENT_SECRET" in result.output


def test_cli_submit_against_the_fake(runner, app, monkeypatch, fake, fhir_world):
    for key, value in {**fake.settings(), "SATUSEHAT_RETRY_BASE_SECONDS": 0.01}.items():
        monkeypatch.setitem(app.config, key, value)
    result = runner.invoke(args=["fhir", "submit", "--area", "kabupaten:35.24"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    # Lamongan only: its puskesmas, posyandu, child, mother, one visit, one weight
    assert stored_counts(fake) == {"Organization": 1, "Location": 1, "Patient": 1, "RelatedPerson": 1,
                                   "Encounter": 1, "Observation": 1, "Immunization": 0}
    result = runner.invoke(args=["fhir", "submit", "--area", "kabupaten:35.24"])
    assert result.exit_code == 0 and "0 created, 0 updated, 6 unchanged" in result.output


def test_production_refuses_insecure_satusehat_urls(monkeypatch):
    from posyandu import create_app
    from posyandu.config import ConfigError
    monkeypatch.setenv("POSYANDU_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/none")
    for key in ("JWT_SECRET_KEY", "SECRET_KEY", "NIK_ENCRYPTION_KEY"):
        monkeypatch.setenv(key, "x" * 40)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    for url in ("http://api-satusehat.kemkes.go.id/fhir-r4/v1", "https://127.0.0.1:8443/fhir-r4/v1",
                "https://localhost/fhir-r4/v1"):
        monkeypatch.setenv("SATUSEHAT_BASE_URL", url)
        with pytest.raises(ConfigError) as excinfo:
            create_app()
        assert "SATUSEHAT_BASE_URL" in str(excinfo.value)
    monkeypatch.setenv("SATUSEHAT_ALLOW_INSECURE_URL", "1")
    create_app()  # explicitly allowed
    monkeypatch.delenv("SATUSEHAT_ALLOW_INSECURE_URL")
    monkeypatch.setenv("SATUSEHAT_BASE_URL", "https://api-satusehat.kemkes.go.id/fhir-r4/v1")
    create_app()


def test_merged_duplicate_is_sent_as_replaced_by_the_kept_record(fake, settings, fhir_world):
    run(settings)
    kept, duplicate = fhir_world.child_b1, fhir_world.child_old
    duplicate.merged_into_id, duplicate.status, duplicate.closed_reason = kept.id, "closed", "merged"
    for row in (fhir_world.m_old, fhir_world.m_old_early):
        row.child_id = kept.id  # merge moves the records to the kept child
    db.session.commit()
    report = run(settings)
    assert report.stopped is None
    server_id = {r["identifier"][-1]["value"]: r["id"] for r in fake.resources("Patient")}
    [patient_put] = fake.writes("PUT", "Patient")
    assert patient_put["body"]["active"] is False
    assert patient_put["body"]["link"] == [{"other": {"reference": f"Patient/{server_id[str(kept.id)]}"},
                                            "type": "replaced-by"}]
    [observation_put] = fake.writes("PUT", "Observation")
    assert observation_put["body"]["subject"] == {"reference": f"Patient/{server_id[str(kept.id)]}"}
    assert len(fake.writes("POST", "Encounter")) == EXPECTED["Encounter"] + 1  # the visit under the kept child
