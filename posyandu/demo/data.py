"""Demo data: Kabupaten Gresik (35.25), one puskesmas, three posyandu, users of every role and
about fifty children with a few years of monthly weighings.

``load_demo()`` is idempotent (regions/puskesmas/posyandu are upserted by code through the same
importers as ``flask regions import-*``; users are matched by username/phone; children and
measurements have deterministic UUIDs and an existing child is left alone) and fast (bulk
inserts, one batch recompute of the growth assessment). Random choices are seeded, so the same
day gives the same data. It flushes and never commits; ``flask demo load`` commits.

Region codes below kabupaten level are illustrative (see data/regions-gresik.csv).
"""
from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from importlib import resources

import sqlalchemy as sa

from ..core import calendar as cal
from ..extensions import db

log = logging.getLogger(__name__)

SEED = 352501
NAMESPACE = uuid.UUID("6f1d2c1e-35a5-4c1b-9d1e-3525000000d0")
N_CHILDREN = 48
HISTORY_MONTHS = 36  # "a few years" of monthly weighings (children younger have all of theirs)

#: (username, password, role, where) — printed by ``flask demo load``.
DEMO_USERS = [
    ("admin", "admin-demo-123", "admin", None),
    ("dinkes.gresik", "dinkes-demo-123", "dinkes", "3525"),
    ("bidan.kebomas", "bidan-demo-123", "puskesmas", "P3525010101"),
    ("kader.melati", "kader-demo-123", "kader", "PY-GRS-001"),
    ("kader.mawar", "kader-demo-123", "kader", "PY-GRS-002"),
    ("kader.kenanga", "kader-demo-123", "kader", "PY-GRS-003"),
]
#: The demo parent's phone as registered with FCM (a made-up token; only the local fake accepts it).
DEMO_PARENT_DEVICE_TOKEN = "demo-parent-android-token-0001"
#: A parent signs in with a phone number (OTP), no password; linked to the first two children.
DEMO_PARENT_PHONE = "+6281311110001"
DEMO_PARENT_NAME = "Siti Aminah"

BOY_NAMES = ["Muhammad Rizky", "Ahmad Fauzi", "Rafi Pratama", "Dimas Saputra", "Bagus Setiawan",
             "Fajar Nugroho", "Arkan Alfarizi", "Bima Aditya", "Raka Firmansyah", "Yusuf Maulana",
             "Naufal Hidayat", "Galih Prasetyo", "Zidan Ramadhan", "Aditya Kurniawan", "Farhan Hakim",
             "Satria Wibowo", "Alif Ibrahim", "Reza Hermawan", "Daffa Putra", "Hafiz Abdullah",
             "Kevin Santoso", "Ilham Syahputra", "Dzaky Azzam", "Rendra Wijaya"]
GIRL_NAMES = ["Aisyah Putri", "Nadia Rahmawati", "Zahra Aulia", "Siti Nurhaliza", "Alya Safitri",
              "Citra Lestari", "Keisha Amanda", "Nabila Azzahra", "Putri Ayu", "Dewi Anggraini",
              "Salsabila Fitri", "Anindya Larasati", "Khansa Humaira", "Azkia Ramadhani", "Syifa Maharani",
              "Intan Permata", "Naura Kirana", "Rania Zahira", "Fitri Handayani", "Laila Maulida",
              "Kirana Ayuningtyas", "Hanifa Nuraini", "Tiara Kusuma", "Wulan Sari"]
MOTHER_NAMES = ["Siti Aminah", "Sri Wahyuni", "Dewi Lestari", "Nur Hidayah", "Rina Marlina", "Yuli Astuti",
                "Endang Susilowati", "Lilis Suryani", "Fatimah Zahro", "Umi Kulsum", "Ratna Sari",
                "Anik Mudrikah", "Rohmah Hidayati", "Khoirun Nisa", "Wiwik Handayani", "Nurul Aini",
                "Ika Puspitasari", "Eka Yuliana", "Maslikhah", "Sulastri", "Mujiati", "Indah Permatasari",
                "Lutfiah", "Tri Wahyuningsih"]
FATHER_NAMES = ["Slamet Riyadi", "Agus Salim", "Budi Santoso", "Eko Prasetyo", "Hadi Susanto",
                "Joko Purnomo", "Mochammad Arifin", "Nur Cholis", "Suprapto", "Heru Cahyono",
                "Abdul Rohman", "Imam Syafii"]
STREETS = ["Jl. Sunan Giri", "Jl. Kartini", "Jl. Dr. Wahidin Sudirohusodo", "Jl. Raya Kebomas",
           "Jl. Veteran", "Jl. Panglima Sudirman", "Gg. Melati", "Jl. Mayjen Sungkono"]


def _lms_value(l: float, m: float, s: float, z: float) -> float:
    """The measurement whose LMS z-score is ``z`` (inverse of the WHO LMS formula)."""
    import math
    if abs(l) < 1e-12:
        return m * math.exp(s * z)
    return m * (1 + l * s * z) ** (1 / l)


def _length_for(sex: int, age_days: int, z: float) -> float:
    """Length (lying, under 2 years) or height (standing, from 2 years) at a length-for-age z."""
    from ..core.growth.tables import AGE_ROWS, AGE_TABLES
    t = AGE_TABLES["len"].py
    i = (sex - 1) * AGE_ROWS + min(age_days, 1826)
    return _lms_value(t["l"][i], t["m"][i], t["s"][i], z)


def _weight_for(sex: int, length_cm: float, lying: bool, z: float) -> float:
    """Weight at a weight-for-length (lying) / weight-for-height (standing) z."""
    from ..core.growth.tables import WFH, WFL
    table = WFL if lying else WFH
    k = min(max(int(round(length_cm * 10)), table.k0), table.k1)
    i = (sex - 1) * table.n + (k - table.k0)
    return _lms_value(table.py["l"][i], table.py["m"][i], table.py["s"][i], z)


def _arm_for(sex: int, age_days: int, z: float) -> float | None:
    from ..core.growth.tables import AGE_ROWS, AGE_TABLES
    t = AGE_TABLES["ac"].py
    i = (sex - 1) * AGE_ROWS + min(age_days, 1826)
    if t["m"][i] != t["m"][i]:  # NaN: no reference before 3 months
        return None
    return _lms_value(t["l"][i], t["m"][i], t["s"][i], z)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, 1)


@dataclass
class DemoSummary:
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _read_data(name: str) -> str:
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


def _load_places(summary: DemoSummary) -> None:
    from ..regions.cli import COLUMNS, read_rows
    from ..regions import operations as ops
    for kind, filename, importer in (("regions", "regions-gresik.csv", ops.import_regions),
                                     ("puskesmas", "puskesmas-gresik.csv", ops.import_puskesmas),
                                     ("posyandu", "posyandu-gresik.csv", ops.import_posyandu)):
        report = importer(read_rows(_read_data(filename), COLUMNS[kind]))
        if report.errors:  # the shipped files are good; a failure here is a bug
            raise RuntimeError(f"demo {filename}: " + "; ".join(f"row {n}: {m}" for n, m in report.errors))
        summary.lines.append("  " + report.summary())


def _load_users(summary: DemoSummary) -> dict[str, int]:
    from ..auth.models import User, UserPosyandu
    from ..devices.models import Device
    from ..auth.passwords import hash_password
    from ..regions.models import Posyandu, Puskesmas

    ids: dict[str, int] = {}
    summary.lines.append("Demo logins (username / password):")
    for username, password, role, where in DEMO_USERS:
        user = db.session.scalars(sa.select(User).where(User.username == username)).first()
        note = ""
        if user is None:
            user = User(username=username, role=role, full_name=username.replace(".", " ").title(),
                        password_hash=hash_password(password), language="id")
            if role == "dinkes":
                user.kabupaten_code = where
            if role == "puskesmas":
                user.puskesmas_id = db.session.scalars(sa.select(Puskesmas.id).where(Puskesmas.code == where)).one()
            db.session.add(user)
            db.session.flush()
            if role == "kader":
                posyandu_id = db.session.scalars(sa.select(Posyandu.id).where(Posyandu.code == where)).one()
                db.session.add(UserPosyandu(user_id=user.id, posyandu_id=posyandu_id))
        else:
            note = "  (already existed; password not changed)"
        ids[username] = user.id
        summary.lines.append(f"  {role:<10} {username:<15} / {password}{note}")
    parent = db.session.scalars(sa.select(User).where(User.phone == DEMO_PARENT_PHONE)).first()
    if parent is None:
        parent = User(phone=DEMO_PARENT_PHONE, role="parent", full_name=DEMO_PARENT_NAME, language="id")
        db.session.add(parent)
        db.session.flush()
    ids["parent"] = parent.id
    # One registered phone, so `flask reminders plan` + `dispatch` against the local fake FCM
    # (README "Trying reminders locally") has somewhere to deliver.
    if db.session.scalars(sa.select(Device.id).where(Device.token == DEMO_PARENT_DEVICE_TOKEN)).first() is None:
        db.session.add(Device(user_id=parent.id, token=DEMO_PARENT_DEVICE_TOKEN, kind="fcm_token", platform="android"))
    summary.lines.append(f"  {'parent':<10} phone {DEMO_PARENT_PHONE} (sign in with the phone OTP; no password)")
    db.session.flush()
    return ids


def _child_profile(rng: random.Random) -> dict:
    """Per-child growth tendency (z-scores): about a fifth stunted, a few wasted, most near
    the median, roughly like SSGI prevalences in East Java."""
    roll = rng.random()
    if roll < 0.22:
        return {"kind": "stunted", "length_z": rng.uniform(-3.3, -2.2), "wfl_z": rng.gauss(-0.3, 0.7)}
    if roll < 0.29:
        return {"kind": "wasted", "length_z": rng.gauss(-0.8, 0.7), "wfl_z": rng.uniform(-2.9, -2.15)}
    return {"kind": "normal", "length_z": rng.gauss(-0.5, 0.8), "wfl_z": rng.gauss(-0.2, 0.7)}


def _load_children(summary: DemoSummary, user_ids: dict[str, int], today: date) -> list[uuid.UUID]:
    from ..children.models import Child, ChildGuardian
    from ..children.names import name_key
    from ..measurements.models import Measurement
    from ..regions.models import Posyandu
    from ..sync.changes import record_change

    posyandu = list(db.session.scalars(sa.select(Posyandu).where(Posyandu.code.in_(
        ["PY-GRS-001", "PY-GRS-002", "PY-GRS-003"])).order_by(Posyandu.code)))
    kader_by_posyandu = {p.id: user_ids[name] for p, name in zip(
        posyandu, ("kader.melati", "kader.mawar", "kader.kenanga"))}
    all_ids = [uuid.uuid5(NAMESPACE, f"child-{i}") for i in range(N_CHILDREN)]
    existing = set(db.session.scalars(sa.select(Child.id).where(Child.id.in_(all_ids))))

    rng = random.Random(f"{SEED}-{today.isoformat()}")
    now = datetime.now(timezone.utc)
    children, guardians, measurements = [], [], []
    for i, child_id in enumerate(all_ids):
        # draw everything for every child (even existing ones) so the sequence stays stable
        sex = 1 if rng.random() < 0.5 else 2
        name = rng.choice(BOY_NAMES if sex == 1 else GIRL_NAMES)
        mother = rng.choice(MOTHER_NAMES)
        father = rng.choice(FATHER_NAMES)
        age_days = rng.randint(5, 59 * 30 + 25)
        birth = today - timedelta(days=age_days)
        profile = _child_profile(rng)
        post = posyandu[i % len(posyandu)]
        phone = DEMO_PARENT_PHONE if i in (0, 3) else f"+62812{rng.randint(10_000_000, 99_999_999)}"
        street, rt, rw = rng.choice(STREETS), f"{rng.randint(1, 8):03d}", f"{rng.randint(1, 4):03d}"
        history_rng = random.Random(f"{SEED}-{child_id}-{today.isoformat()}")
        if child_id in existing:
            continue
        if i == 0:  # the demo parent's own children: fixed names
            sex, name, mother = 1, "Ahmad Fauzi", DEMO_PARENT_NAME
        if i == 3:
            sex, name, mother = 2, "Aisyah Putri", DEMO_PARENT_NAME
        kader_id = kader_by_posyandu[post.id]
        birth_length = round(_length_for(sex, 0, profile["length_z"] * 0.6 + history_rng.gauss(0, 0.5)), 1)
        birth_weight = round(max(2.1, _weight_for(sex, max(birth_length, 45.0), True, history_rng.gauss(-0.3, 0.8))), 2)
        children.append({
            "id": child_id, "posyandu_id": post.id, "name": name, "name_key": name_key(name), "sex": sex,
            "birth_date": birth, "birth_weight_kg": birth_weight, "birth_length_cm": birth_length,
            "birth_order": history_rng.randint(1, 3), "mother_name": mother, "mother_name_key": name_key(mother),
            "father_name": father, "address": f"{street} No. {history_rng.randint(1, 120)}", "rt": rt, "rw": rw,
            "desa_code": post.desa_code, "has_kia_book": history_rng.random() < 0.9, "status": "active",
            "version": 1, "created_by_id": kader_id, "updated_by_id": kader_id, "created_at": now,
            "updated_at": now})
        guardians.append({"child_id": child_id, "phone": phone, "relationship_kind": "mother",
                          "user_id": user_ids["parent"] if phone == DEMO_PARENT_PHONE else None,
                          "created_at": now})
        measurements.extend(_history(history_rng, child_id, post, sex, birth, profile, kader_id, today, now))

    if children:
        db.session.execute(sa.insert(Child), children)
        db.session.execute(sa.insert(ChildGuardian), guardians)
        for i in range(0, len(measurements), 1000):
            db.session.execute(sa.insert(Measurement), measurements[i:i + 1000])
        for row in children:
            record_change(db.session, entity="child", entity_id=row["id"], posyandu_id=row["posyandu_id"],
                          child_id=row["id"])
        for row in measurements:
            record_change(db.session, entity="measurement", entity_id=row["id"], posyandu_id=row["posyandu_id"],
                          child_id=row["child_id"])
        db.session.flush()
    summary.lines.append(f"  children: {len(children)} created, {len(existing)} already there; "
                         f"measurements: {len(measurements)} created")
    return [row["id"] for row in children]


def _history(rng: random.Random, child_id, post, sex: int, birth: date, profile: dict, kader_id: int,
             today: date, now: datetime) -> list[dict]:
    rows = []
    length_z, wfl_z = profile["length_z"], profile["wfl_z"]
    start = max(date(birth.year, birth.month, 1), _add_months(today, -HISTORY_MONTHS))
    month = start
    while month <= today:
        for on in cal.sessions_in_month(post.session_rule, month.year, month.month):
            if not (birth < on <= today):
                continue
            # slow drift of the child's z-scores, so trends (naik / tidak naik) vary
            length_z = min(max(length_z + rng.gauss(0, 0.04), -4.0), 2.5)
            wfl_z = min(max(wfl_z + rng.gauss(0, 0.08) + 0.15 * (profile["wfl_z"] - wfl_z), -3.5), 2.5)
            if rng.random() < 0.12:  # missed this month
                continue
            age_days = (on - birth).days
            lying = on < _add_years(birth, 2)  # WHO: recumbent length under 2 years, height after
            true_length = _length_for(sex, age_days, length_z)
            weight = _weight_for(sex, true_length, lying, wfl_z) + rng.gauss(0, 0.03)
            measure_length = on.month in (2, 8) or age_days < 31 or rng.random() < 0.4
            length = method = None
            if measure_length:
                method = "lying" if lying else "standing"
                length = round(true_length + rng.gauss(0, 0.3), 1)
            arm = None
            if age_days >= 183 and rng.random() < 0.3:
                value = _arm_for(sex, age_days, wfl_z * 0.8)
                arm = round(value + rng.gauss(0, 0.2), 1) if value else None
            rows.append({
                "id": uuid.uuid5(NAMESPACE, f"{child_id}-{on.isoformat()}"), "child_id": child_id,
                "posyandu_id": post.id, "measured_on": on, "weight_kg": round(max(weight, 1.8), 1),
                "length_cm": length, "measure_method": method, "head_circumference_cm": None,
                "arm_circumference_cm": arm, "oedema": False,
                "vitamin_a": True if on.month in (2, 8) and age_days >= 183 else None,
                "exclusive_breastfeeding": (rng.random() < 0.7) if age_days < 183 else None,
                "has_kia_book": None, "notes": None, "version": 1, "created_by_id": kader_id,
                "updated_by_id": kader_id, "created_at": now, "updated_at": now})
        month = _add_months(month, 1)
    return rows


def _recompute(child_ids: list[uuid.UUID], summary: DemoSummary) -> None:
    """The single call site for the growth assessment of the demo rows: the measurements
    feature's batch recompute, looked up at run time (it is written alongside this module).

    ``recompute_all(session, only_outdated=True)`` handles exactly the rows without a current
    ``standard_version`` (the demo rows just inserted), in batches of whole children, with the
    vectorised engine, inside this transaction (``commit=False``).
    """
    if not child_ids:
        return
    try:
        from ..measurements import operations as measurement_ops
    except ImportError:
        measurement_ops = None
    recompute_all = getattr(measurement_ops, "recompute_all", None)
    if recompute_all is None:
        # TODO(measurements): no batch recompute available; run `flask growth recompute`.
        summary.lines.append("  growth assessment: NOT computed (posyandu.measurements.operations has no "
                             "recompute_all); run `flask growth recompute`")
        return
    written = recompute_all(db.session, only_outdated=True, progress=True, commit=False)
    summary.lines.append(f"  growth assessment: {written} measurements assessed "
                         "(measurements.operations.recompute_all, only_outdated)")


def _load_immunizations(summary: DemoSummary, user_ids: dict[str, int], today: date) -> None:
    """Doses for the demo children (most up to date, a few overdue, two dropouts): demo/immunizations.py."""
    from .immunizations import load_immunizations
    load_immunizations(summary, user_ids, today)


def _fill_report_summary(child_ids: list[uuid.UUID], summary: DemoSummary) -> None:
    """The monthly reports read ``report_child_month``: fill it for the demo children."""
    from ..reports.summary import refresh_child_months
    if child_ids:
        db.session.flush()
        refresh_child_months(db.session, child_ids)
        summary.lines.append(f"  report summary: filled for {len(child_ids)} children")


def load_demo(today: date | None = None) -> DemoSummary:
    """Load (or top up) the demo data set; returns a printable summary with the demo logins."""
    today = today or date.today()
    summary = DemoSummary(["Demo data: Kabupaten Gresik (35.25), Puskesmas Kebomas"])
    _load_places(summary)
    user_ids = _load_users(summary)
    new_children = _load_children(summary, user_ids, today)
    _recompute(new_children, summary)
    _fill_report_summary(new_children, summary)
    _load_immunizations(summary, user_ids, today)
    db.session.flush()
    # users listed last in the output is friendlier: move the login block to the end
    logins = [i for i, line in enumerate(summary.lines) if line.startswith("Demo logins")]
    if logins:
        start = logins[0]
        block = summary.lines[start:start + len(DEMO_USERS) + 2]
        del summary.lines[start:start + len(DEMO_USERS) + 2]
        summary.lines.extend(block)
    return summary
