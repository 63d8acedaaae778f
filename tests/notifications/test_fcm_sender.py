"""FcmSender through the real firebase-admin SDK against the local fake FCM server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from firebase_admin import credentials, exceptions, messaging

from posyandu.devtools.firebase_local import fast_retry, point_firebase_at
from posyandu.notifications import FcmSender, Push, PushStatus
from posyandu.notifications.fcm import classify_error, credentials_from_env

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _db_transaction():
    """No database here: opt this module out of tests/conftest.py's autouse per-test
    transaction, which would build the whole Flask app (and its DB) for every test."""
    yield


def push(target: str, reminder_id: int | str = 1, *, fid: bool = False, **kw) -> Push:
    kw.setdefault("title", "Imunisasi besok")
    kw.setdefault("body", "Budi dijadwalkan imunisasi DPT-HB-Hib 1 di Posyandu Melati")
    return Push(reminder_id=reminder_id, fid=target, **kw) if fid else Push(
        reminder_id=reminder_id, token=target, **kw)


def test_sent_records_name_tag_and_collapse_key(fake, make_sender):
    sender = make_sender()
    [result] = sender.send([push("ok-token-1", 42, data={"child_id": "c-7"})])

    assert result.status is PushStatus.SENT and result.ok and result.attempted
    [record] = fake.messages()
    assert result.message_name == record["name"]
    assert result.message_name.startswith("projects/demo-posyandu/messages/")
    assert record["target_type"] == "token" and record["target"] == "ok-token-1"
    assert record["android_tag"] == "rem-42" and record["collapse_key"] == "rem-42"
    assert record["priority"] == "high" and record["channel_id"] == "reminders"
    assert record["message"]["data"] == {"child_id": "c-7", "reminder_id": "42"}
    assert record["message"]["notification"] == {
        "title": "Imunisasi besok",
        "body": "Budi dijadwalkan imunisasi DPT-HB-Hib 1 di Posyandu Melati"}
    assert record["headers"]["authorization"] == "Bearer posyandu-dev-static-token"
    assert record["headers"]["x-goog-api-format-version"] == "2"
    assert record["headers"]["x-firebase-client"].startswith("fire-admin-python/")
    assert not record["validate_only"]


def test_fid_target_and_ttl(fake, make_sender):
    [result] = make_sender().send([push("fid-abc", "r-9", fid=True, ttl=timedelta(hours=12))])
    assert result.status is PushStatus.SENT
    [record] = fake.messages()
    assert record["target_type"] == "fid" and record["android_tag"] == "rem-r-9"
    assert record["message"]["android"]["ttl"] == "43200s"


def test_token_message_does_not_warn(fake, make_sender, recwarn):
    make_sender().send([push("ok-1")])
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)
                and "posyandu" in w.filename]


@pytest.mark.parametrize("target, code", [
    ("unregistered-abc", "UNREGISTERED"),
    ("invalid-abc", "INVALID_ARGUMENT"),
    ("senderid-abc", "SENDER_ID_MISMATCH"),
])
def test_dead_tokens_are_token_invalid(fake, make_sender, target, code):
    [result] = make_sender().send([push(target)])
    assert result.status is PushStatus.TOKEN_INVALID and result.retire_token
    assert result.error_code == code
    assert fake.attempts(target) == 1  # no SDK retry on 4xx
    assert fake.message_count == 0


def test_payload_rejected_by_fcm_is_failed_not_token_invalid(fake, make_sender):
    """An INVALID_ARGUMENT about the payload must not retire the device token."""
    sender = make_sender()
    bad = messaging.Message(fid="ok-1", data={"google.reserved": "x"})  # SDK lets it through
    batch = messaging.send_each([bad], app=sender.app)
    exc = batch.responses[0].exception
    assert isinstance(exc, exceptions.InvalidArgumentError)
    assert classify_error(exc) == (PushStatus.FAILED, "INVALID_ARGUMENT")


def test_invalid_push_is_failed_locally_without_sinking_the_batch(fake, make_sender):
    pushes = [push("ok-1", 1), Push(reminder_id=2, title="t", body="b", token="a", fid="b"),
              push("ok-3", 3, data={"n": 3}), push("ok-4", 4, data={"gcm.x": "1"}), push("ok-5", 5)]
    results = make_sender().send(pushes)
    assert [r.status for r in results] == [PushStatus.SENT, PushStatus.FAILED, PushStatus.FAILED,
                                          PushStatus.FAILED, PushStatus.SENT]
    assert all(r.error_code == "INVALID_PUSH" and not r.attempted for r in results[1:4])
    assert [r.push.reminder_id for r in results] == [1, 2, 3, 4, 5]
    assert fake.message_count == 2


def test_one_503_is_retried_by_the_sdk_then_sent(fake, make_sender):
    started = time.monotonic()
    [result] = make_sender().send([push("flaky503x1-abc")])
    assert result.status is PushStatus.SENT
    assert fake.attempts("flaky503x1-abc") == 2
    assert time.monotonic() - started < 3  # urllib3's first retry has no backoff


def test_quota_is_quota_without_retry_after(fake, make_sender):
    started = time.monotonic()
    [result] = make_sender().send([push("quota-abc")])
    assert result.status is PushStatus.QUOTA and result.error_code == "QUOTA_EXCEEDED"
    assert result.retry_after is None
    assert fake.attempts("quota-abc") == 1
    assert time.monotonic() - started < 3


def test_quota_stops_the_remaining_chunks(fake, make_sender):
    pushes = [push("quota-first", 0)] + [push(f"ok-{i}", i) for i in range(1, 150)]
    results = make_sender().send(pushes)
    assert results[0].status is PushStatus.QUOTA and results[0].attempted
    assert all(r.status is PushStatus.SENT for r in results[1:100])
    assert all(r.status is PushStatus.QUOTA and not r.attempted for r in results[100:])
    assert fake.message_count == 99


@pytest.mark.parametrize("target, code", [("internal-abc", "INTERNAL"),
                                          ("down-abc", "UNAVAILABLE")])
def test_server_errors_are_retry(fake, make_sender, target, code):
    sender = make_sender()
    # Same urllib3 retry policy as the SDK's but without the 0+1+2+4 s backoff (~7 s).
    point_firebase_at(sender.app, fake.base_url, auth=False, retries=fast_retry())
    started = time.monotonic()
    [result] = sender.send([push(target)])
    assert result.status is PushStatus.RETRY and result.error_code == code
    assert fake.attempts(target) == 5  # 1 + the SDK's 4 status retries
    assert time.monotonic() - started < 4  # vs ~7 s with the real backoff


def test_global_mode_then_recovery(fake, make_sender):
    sender = make_sender()
    fake.set_mode("quota", requests=1)
    first = sender.send([push("ok-a", 1)])
    second = sender.send([push("ok-a", 1)])
    assert first[0].status is PushStatus.QUOTA and second[0].status is PushStatus.SENT


def test_timeout_is_retry_and_may_still_deliver(fake, make_sender):
    """A read timeout is retried once by urllib3 (read=1); FCM may have accepted both attempts:
    the duplicate window that the tag/collapse key make harmless on the phone. After the urllib3
    retry, requests reports a ConnectionError, so the SDK raises UnavailableError (not
    DeadlineExceededError)."""
    sender = make_sender(http_timeout=0.2)
    [result] = sender.send([push("slow400ms-abc", 77)])
    assert result.status is PushStatus.RETRY and result.error_code == "UNAVAILABLE"
    assert "Read timed out" in result.error
    assert fake.attempts("slow400ms-abc") == 2
    assert fake.wait_for_messages(2, timeout=3)
    assert {m["android_tag"] for m in fake.messages()} == {"rem-77"}


def test_chunks_of_at_most_100(fake, make_sender, monkeypatch):
    sizes = []
    real_send_each = messaging.send_each

    def spy(messages, dry_run=False, app=None):
        sizes.append(len(messages))
        return real_send_each(messages, dry_run=dry_run, app=app)

    monkeypatch.setattr(messaging, "send_each", spy)
    results = make_sender().send([push(f"ok-{i}", i) for i in range(250)])
    assert sizes == [100, 100, 50]
    assert all(r.status is PushStatus.SENT for r in results)
    assert [r.push.reminder_id for r in results] == list(range(250))
    assert len({r.message_name for r in results}) == 250 == fake.message_count


def test_dry_run_validates_but_delivers_nothing(fake, make_sender):
    sender = make_sender(dry_run=True)
    results = sender.send([push("ok-1"), push("unregistered-2")])
    assert results[0].status is PushStatus.SENT
    assert results[0].message_name == "projects/demo-posyandu/messages/fake_message_id"
    assert results[1].status is PushStatus.TOKEN_INVALID  # FCM checks tokens in dry runs too
    assert fake.message_count == 0 and fake.validated_count == 1

    live = make_sender()
    assert live.send([push("ok-3")], dry_run=True)[0].status is PushStatus.SENT
    assert fake.message_count == 0 and fake.validated_count == 2


def test_service_account_refreshes_once_for_a_chunk(fake, make_sender):
    """Real JWT-bearer refresh against the fake's /token; one refresh, not one per thread."""
    cred = credentials.Certificate(fake.service_account_info())
    sender = make_sender(credentials=cred)
    results = sender.send([push(f"ok-{i}", i) for i in range(100)])
    assert all(r.ok for r in results)
    assert fake.stats()["token_requests"] == 1
    [issued] = fake.access_tokens_issued
    assert {m["headers"]["authorization"] for m in fake.messages()} == {f"Bearer {issued}"}
    assert fake.token_grants[0]["scope"].split() and "firebase" in fake.token_grants[0]["scope"]


def test_rejected_bearer_is_retry(fake, make_sender):
    """A 401 makes google-auth try a refresh; a static token cannot refresh, the RefreshError
    escapes the worker thread and send_each wraps it in UnknownError for the whole chunk."""
    fake.strict_tokens = True
    try:
        [result] = make_sender().send([push("ok-1")])
    finally:
        fake.strict_tokens = False
    assert result.status is PushStatus.RETRY and result.error_code == "UNKNOWN"
    assert "refresh" in result.error


def test_fake_http_control_endpoints(fake, make_sender):
    import requests

    make_sender().send([push("ok-1", 5)])
    body = requests.get(f"{fake.base_url}/_fake/messages", timeout=5).json()
    assert body["count"] == 1 and body["messages"][0]["android_tag"] == "rem-5"
    assert requests.post(f"{fake.base_url}/_fake/mode", json={"mode": "unavailable", "requests": 1},
                         timeout=5).ok
    assert fake.stats()["mode"] == "unavailable"
    assert requests.post(f"{fake.base_url}/_fake/reset", timeout=5).ok
    assert fake.message_count == 0 and fake.stats()["mode"] is None


def test_credentials_from_env(tmp_path, fake):
    info = fake.service_account_info()
    cred = credentials_from_env({"FIREBASE_CREDENTIALS_JSON": json.dumps(info)})
    assert isinstance(cred, credentials.Certificate) and cred.project_id == "demo-posyandu"
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    cred = credentials_from_env({"GOOGLE_APPLICATION_CREDENTIALS": str(path)})
    assert isinstance(cred, credentials.Certificate)
    with pytest.raises(ValueError, match="not valid JSON"):
        credentials_from_env({"FIREBASE_CREDENTIALS_JSON": "{nope"})


def test_endpoint_override_refused_in_production(monkeypatch, fake):
    monkeypatch.setenv("POSYANDU_ENV", "production")
    with pytest.raises(RuntimeError, match="production"):
        FcmSender("test-fcm-prod", "demo-posyandu", endpoint_url=fake.base_url)


def test_production_sender_does_not_import_devtools():
    code = (
        "import sys\n"
        "from google.oauth2.credentials import Credentials\n"
        "from posyandu.notifications import FcmSender\n"
        "s = FcmSender('prod-like', 'demo-posyandu', credentials=Credentials('x'))\n"
        "s.close()\n"
        "bad = [m for m in sys.modules if m.startswith('posyandu.devtools')]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, env=env, timeout=60)
