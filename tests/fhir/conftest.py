"""FHIR export fixtures: the test world plus hand-chosen measurements and doses.

Values are chosen by hand (z-scores and categories are stored as given, not computed), so the
expected resources can be written down from fhir-satusehat.md without running the code.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from posyandu.children import crypto
from posyandu.extensions import db
from posyandu.immunizations.models import Immunization
from posyandu.measurements.models import Measurement

from tests import factories

#: reporting-id.md §6: a woman born 15 March 1995 (day 15 + 40 = 55), issued in Kebomas.
MOTHER_NIK = "3525015503950003"
#: A girl born 1 July 2023 (day 01 + 40 = 41), issued in Kebomas.
GIRL_NIK = "3525014107230001"
KK = "3525011203200007"

ALL_TYPES = ("Organization", "Location", "Patient", "RelatedPerson", "Encounter", "Observation", "Immunization")


def measurement(child, posyandu, on: date, **values) -> Measurement:
    row = Measurement(id=values.pop("id", uuid.uuid4()), child_id=child.id, posyandu_id=posyandu.id, measured_on=on,
                      **values)
    db.session.add(row)
    db.session.flush()
    return row


def dose(child, posyandu, code: str, on: date, **values) -> Immunization:
    series = {"HB0": "HepB", "DPTHBHIB1": "DPT-HB-Hib", "MR1": "MR", "PCV3": "PCV", "BCG": "BCG"}[code]
    row = Immunization(id=values.pop("id", uuid.uuid4()), child_id=child.id, posyandu_id=posyandu.id,
                       dose_code=code, vaccine_code=series, given_on=on, **values)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def fhir_world(world):
    """world + records:

    - child A1 (boy, born 2024-03-15, posyandu A1 Gresik WIB): no NIK of his own, mother's NIK
      and KK; measured 2025-01-14 lying and 2026-11-10 standing; HB0 recorded from the Buku KIA
      (other facility) 2024-03-15, DPT-HB-Hib 1 at the posyandu 2024-05-14 (no measurement that
      day: an Encounter of its own); one deleted measurement 2025-02-11;
    - child A2 (girl, posyandu A2): her own NIK; measured 2026-11-10 with a flagged WAZ;
    - an older child at B1 (born 2012-01-01) measured 2014-05-20 (before 2014-06-03: never
      exported) and 2014-06-03;
    - child C1 (Lamongan): measured 2026-11-11 (outside Gresik).
    """
    w = world
    a1 = w.child_a1
    a1.mother_nik_encrypted, a1.mother_nik_hmac, a1.mother_nik_masked = crypto.protect(MOTHER_NIK)
    a1.kk_encrypted, a1.kk_hmac, a1.kk_masked = crypto.protect(KK)
    a1.address, a1.rt, a1.rw = "Jl. Melati 3", "001", "002"
    a2 = w.child_a2
    a2.nik_encrypted, a2.nik_hmac, a2.nik_masked = crypto.protect(GIRL_NIK)
    old = factories.child(w.posyandu_b1, "Rudi Hartono", birth_date=date(2012, 1, 1), mother_name="Lastri")
    w.child_old = old
    w.m_a1_lying = measurement(a1, w.posyandu_a1, date(2025, 1, 14), weight_kg=8.6, length_cm=71.5,
                               measure_method="lying", head_circumference_cm=45.0, arm_circumference_cm=14.2,
                               zwei=-0.71, fwei=False, cat_bbu="bbu.normal", zlen=-1.25, flen=False,
                               cat_tbu="tbu.normal", zac=0.35, fac=False, cat_lila="lila.normal")
    w.m_a1_standing = measurement(a1, w.posyandu_a1, date(2026, 11, 10), weight_kg=11.2, length_cm=86.4,
                                  measure_method="standing", zwei=-1.8, fwei=False, cat_bbu="bbu.normal",
                                  zlen=-2.31, flen=False, cat_tbu="tbu.stunted", zwfl=-0.52, fwfl=False,
                                  cat_bbtb="bbtb.normal")
    w.m_a1_deleted = measurement(a1, w.posyandu_a1, date(2025, 2, 11), weight_kg=8.8,
                                 deleted_at=datetime(2025, 2, 12, tzinfo=timezone.utc))
    w.m_a2 = measurement(a2, w.posyandu_a2, date(2026, 11, 10), weight_kg=30.0, length_cm=88.0,
                         measure_method="standing", zwei=6.5, fwei=True, zlen=-1.0, flen=False, cat_tbu="tbu.normal")
    w.m_old_early = measurement(old, w.posyandu_b1, date(2014, 5, 20), weight_kg=11.0)
    w.m_old = measurement(old, w.posyandu_b1, date(2014, 6, 3), weight_kg=11.3)
    w.m_c1 = measurement(w.child_c1, w.posyandu_c1, date(2026, 11, 11), weight_kg=7.0)
    w.d_hb0 = dose(a1, w.posyandu_a1, "HB0", date(2024, 3, 15), place="other_facility",
                   created_at=datetime(2024, 6, 1, 2, 0, tzinfo=timezone.utc))
    w.d_dpt1 = dose(a1, w.posyandu_a1, "DPTHBHIB1", date(2024, 5, 14), place="posyandu", lot_number="PB1234",
                    created_at=datetime(2024, 5, 14, 3, 0, tzinfo=timezone.utc))
    db.session.flush()
    db.session.commit()  # releases the test's SAVEPOINT only
    return w


def read_ndjson(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def references_in(value, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            found.add(value["reference"])
        for child in value.values():
            references_in(child, found)
    elif isinstance(value, list):
        for child in value:
            references_in(child, found)
    return found


def identifier_values(resource: dict, system: str) -> list[str]:
    return [i["value"] for i in resource.get("identifier", []) if i["system"] == system]


@pytest.fixture
def headers():
    return factories.headers
