"""Small factory helpers for tests: build rows directly, flush, return them."""
from __future__ import annotations

import functools
import uuid
from datetime import date, time
from types import SimpleNamespace

from posyandu.auth.models import User, UserPosyandu
from posyandu.auth.passwords import hash_password
from posyandu.auth.tokens import access_token_for
from posyandu.children.models import Child, ChildGuardian
from posyandu.children.names import name_key
from posyandu.extensions import db
from posyandu.regions.models import Posyandu, Puskesmas, PuskesmasDesa, Region

PASSWORD = "rahasia-Posyandu-123"


@functools.lru_cache(maxsize=32)
def _password_hash(password: str) -> str:
    """argon2 is deliberately slow (~50 ms); hash each test password once per process."""
    return hash_password(password)


@functools.lru_cache(maxsize=32)
def _hash(password: str) -> str:
    """argon2 is deliberately slow (~64 MiB per hash); hash each test password once per run."""
    return hash_password(password)


def region(code: str, name: str, parent: str | None = None) -> Region:
    level = {2: "provinsi", 4: "kabupaten", 6: "kecamatan", 10: "desa"}[len(code)]
    existing = db.session.get(Region, code)
    if existing:
        return existing
    row = Region(code=code, level=level, name=name, parent_code=parent)
    db.session.add(row)
    db.session.flush()
    return row


def puskesmas(code: str, name: str, kecamatan_code: str, desa_codes=()) -> Puskesmas:
    row = Puskesmas(code=code, name=name, kecamatan_code=kecamatan_code, kabupaten_code=kecamatan_code[:4])
    db.session.add(row)
    db.session.flush()
    for desa in desa_codes:
        db.session.add(PuskesmasDesa(puskesmas_id=row.id, desa_code=desa))
    db.session.flush()
    return row


def posyandu(code: str, name: str, desa_code: str, puskesmas_row: Puskesmas,
             timezone: str = "Asia/Jakarta", session_rule: str = "nth_weekday:2:TUE") -> Posyandu:
    row = Posyandu(code=code, name=name, desa_code=desa_code, puskesmas_id=puskesmas_row.id,
                   kabupaten_code=desa_code[:4], timezone=timezone, session_rule=session_rule,
                   session_start=time(8, 0), session_end=time(11, 0))
    db.session.add(row)
    db.session.flush()
    return row


def user(role: str, username: str | None = None, *, phone: str | None = None, posyandu_rows=(),
         puskesmas_row: Puskesmas | None = None, kabupaten_code: str | None = None,
         password: str | None = PASSWORD, full_name: str | None = None) -> User:
    row = User(username=username, phone=phone, role=role, full_name=full_name or (username or phone or role),
               password_hash=_hash(password) if password else None,
               puskesmas_id=puskesmas_row.id if puskesmas_row else None, kabupaten_code=kabupaten_code)
    db.session.add(row)
    db.session.flush()
    for p in posyandu_rows:
        db.session.add(UserPosyandu(user_id=row.id, posyandu_id=p.id))
    db.session.flush()
    return row


def child(posyandu_row: Posyandu, name: str = "Ahmad Fauzi", *, sex: int = 1,
          birth_date: date = date(2024, 3, 15), mother_name: str = "Siti Aminah",
          guardian_phones=(), child_id: uuid.UUID | None = None) -> Child:
    row = Child(id=child_id or uuid.uuid4(), posyandu_id=posyandu_row.id, name=name, name_key=name_key(name),
                sex=sex, birth_date=birth_date, mother_name=mother_name,
                mother_name_key=name_key(mother_name) if mother_name else None,
                desa_code=posyandu_row.desa_code)
    db.session.add(row)
    db.session.flush()
    for phone in guardian_phones:
        db.session.add(ChildGuardian(child_id=row.id, phone=phone))
    db.session.flush()
    return row


def headers(user_row: User) -> dict:
    return {"Authorization": f"Bearer {access_token_for(user_row)}"}


def build_world() -> SimpleNamespace:
    """Gresik (35.25) with two puskesmas, plus Lamongan (35.24) for a second kabupaten.

    - puskesmas A (Kebomas) → posyandu A1, A2; puskesmas B (Manyar) → posyandu B1
    - puskesmas C in Lamongan → posyandu C1
    - one child per posyandu; child A1 is linked to parent_1's phone
    """
    w = SimpleNamespace()
    region("35", "Jawa Timur")
    region("3525", "Kabupaten Gresik", "35")
    region("352501", "Kebomas", "3525")
    region("352502", "Manyar", "3525")
    region("3525012001", "Giri", "352501")
    region("3525012002", "Kawisanyar", "352501")
    region("3525022001", "Manyar Sido Rukun", "352502")
    region("3524", "Kabupaten Lamongan", "35")
    region("352401", "Sukodadi", "3524")
    region("3524012001", "Sumberaji", "352401")
    w.puskesmas_a = puskesmas("P3525010101", "Puskesmas Kebomas", "352501", ["3525012001", "3525012002"])
    w.puskesmas_b = puskesmas("P3525020101", "Puskesmas Manyar", "352502", ["3525022001"])
    w.puskesmas_c = puskesmas("P3524010101", "Puskesmas Sukodadi", "352401", ["3524012001"])
    w.posyandu_a1 = posyandu("PY-A1", "Posyandu Melati", "3525012001", w.puskesmas_a)
    w.posyandu_a2 = posyandu("PY-A2", "Posyandu Mawar", "3525012002", w.puskesmas_a)
    w.posyandu_b1 = posyandu("PY-B1", "Posyandu Anggrek", "3525022001", w.puskesmas_b)
    w.posyandu_c1 = posyandu("PY-C1", "Posyandu Kenanga", "3524012001", w.puskesmas_c)
    w.admin = user("admin", "admin")
    w.dinkes_gresik = user("dinkes", "dinkes.gresik", kabupaten_code="3525")
    w.dinkes_lamongan = user("dinkes", "dinkes.lamongan", kabupaten_code="3524")
    w.staff_a = user("puskesmas", "bidan.kebomas", puskesmas_row=w.puskesmas_a)
    w.staff_b = user("puskesmas", "gizi.manyar", puskesmas_row=w.puskesmas_b)
    w.staff_c = user("puskesmas", "bidan.sukodadi", puskesmas_row=w.puskesmas_c)
    w.kader_a1 = user("kader", "kader.melati", phone="+6281200000001", posyandu_rows=[w.posyandu_a1])
    w.kader_a2 = user("kader", "kader.mawar", posyandu_rows=[w.posyandu_a2])
    w.kader_b1 = user("kader", "kader.anggrek", posyandu_rows=[w.posyandu_b1])
    w.kader_c1 = user("kader", "kader.kenanga", posyandu_rows=[w.posyandu_c1])
    w.parent_1 = user("parent", None, phone="+6281311111111", password=None, full_name="Siti Aminah")
    w.parent_2 = user("parent", None, phone="+6281322222222", password=None, full_name="Dewi Lestari")
    w.child_a1 = child(w.posyandu_a1, "Ahmad Fauzi", guardian_phones=["+6281311111111"])
    w.child_a2 = child(w.posyandu_a2, "Putri Ayu", sex=2, birth_date=date(2023, 7, 1), mother_name="Rina")
    w.child_b1 = child(w.posyandu_b1, "Budi Santoso", birth_date=date(2022, 1, 20), mother_name="Yuli",
                       guardian_phones=["+6281322222222"])
    w.child_c1 = child(w.posyandu_c1, "Citra Lestari", sex=2, birth_date=date(2024, 9, 9), mother_name="Wati")
    db.session.query(ChildGuardian).filter(ChildGuardian.phone == "+6281311111111").update(
        {"user_id": w.parent_1.id})
    db.session.query(ChildGuardian).filter(ChildGuardian.phone == "+6281322222222").update(
        {"user_id": w.parent_2.id})
    db.session.flush()
    return w
