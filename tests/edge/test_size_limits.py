"""Issue 9 §1: request bodies are limited (1 MB for the API, 4 MB for a sync push) and refused
with 413 problem+json before they are read (posyandu/edge.py)."""
from __future__ import annotations

import io
import json
import uuid

from posyandu import edge
from tests.children.helpers import assert_problem, count_children
from tests.factories import headers

API = "/api/v1"
MB = 1024 * 1024


class Unreadable(io.RawIOBase):
    """A body that fails the test if anything reads it."""

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        return 0

    def tell(self):
        return 0

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def test_a_10_mb_body_is_413_without_being_read(client, world):
    response = client.post(f"{API}/children", input_stream=Unreadable(), headers={
        **headers(world.kader_a1), "Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(10 * MB)})
    assert_problem(response, 413)
    assert response.json["type"] == "urn:posyandugo:problem:payload-too-large"


def test_a_10_mb_json_body_is_413(client, world):
    body = json.dumps({"name": "x" * (10 * MB)})
    before = count_children()
    response = client.post(f"{API}/children", data=body, content_type="application/json",
                           headers=headers(world.kader_a1))
    assert_problem(response, 413)
    assert count_children() == before


def test_a_17_mb_sync_push_is_413_without_being_read(client, world):
    response = client.post(f"{API}/sync/push", input_stream=Unreadable(), headers={
        **headers(world.kader_a1), "Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(17 * MB)})
    assert_problem(response, 413)


def test_a_body_without_length_is_cut_off_at_the_limit(client, world):
    """A chunked body (no Content-Length) is counted while it streams."""
    body = json.dumps({"records": [{"entity": "child", "id": str(uuid.uuid4()), "data": {"name": "x" * (5 * MB)}}]})
    response = client.post(f"{API}/sync/push", input_stream=io.BytesIO(body.encode()),
                           headers={**headers(world.kader_a1), "Content-Type": "application/json"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_problem(response, 413)


def _full_child(posyandu_id: int, n: int) -> dict:
    """A child with every field a cadre can fill, at realistic lengths."""
    child_id = str(uuid.uuid4())
    return {"entity": "child", "id": child_id, "base_version": None,
            "client_updated_at": "2026-11-30T08:00:00+07:00",
            "data": {"id": child_id, "posyandu_id": posyandu_id, "name": f"Muhammad Rizky Pratama Ramadhan {n}",
                     "sex": 1, "birth_date": "2024-03-15", "birth_weight_kg": 3.15, "birth_length_cm": 49.5,
                     "birth_order": 2, "nik": "3525011503240001", "mother_name": "Nur Hidayah Kusumawardani",
                     "mother_nik": "3525015503950003", "father_name": "Ahmad Fauzi Hidayatullah",
                     "kk_number": "3525011203200007",
                     "address": "Jl. Raya Kebomas Gang Melati No. 17, Dusun Krajan, dekat masjid",
                     "rt": "003", "rw": "011", "desa_code": "35.25.01.2001", "has_kia_book": True,
                     "guardians": [{"phone": "+6281311111111", "relationship": "mother"},
                                   {"phone": "+6281322222222", "relationship": "father"}]}}


def test_a_full_batch_of_1000_records_fits_the_sync_limit(client, world):
    """The sync limit is sized for the largest batch (1,000 records) with every field filled."""
    body = json.dumps({"device_id": "android-" + "a" * 40,
                       "records": [_full_child(world.posyandu_a1.id, n) for n in range(1000)]})
    size = len(body.encode())
    assert MB / 2 < size < edge.SYNC_MAX_BYTES / 4, size      # about 0.83 MB
    response = client.post(f"{API}/sync/push", data=body, content_type="application/json",
                           headers=headers(world.kader_a1))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert {r["status"] for r in response.json["receipts"]} == {"applied"}


def test_the_api_limit_does_not_apply_to_sync_push_but_to_everything_else(client, world):
    body = json.dumps({"name": "x" * (2 * MB)})
    response = client.post(f"{API}/children", data=body, content_type="application/json",
                           headers=headers(world.kader_a1))
    assert_problem(response, 413)
    response = client.post(f"{API}/sync/push", data=json.dumps({"records": [{"entity": "child", "data": {
        "name": "x" * (2 * MB)}}]}), content_type="application/json", headers=headers(world.kader_a1))
    assert response.status_code == 200   # read and answered per record (invalid), not refused whole
