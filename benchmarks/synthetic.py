"""Synthetic data shared by the benchmarks: one puskesmas in Kebomas (Gresik) with N posyandu,
and plausible monthly weights and lengths around a child's own z-score."""
from __future__ import annotations

import calendar
import random
from datetime import date, datetime


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months (the day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def insert_area(cur, n_posyandu: int, now: datetime) -> list[tuple[int, str]]:
    """Regions down to Kebomas, puskesmas BENCH-PKM and ``n_posyandu`` posyandu (one desa each,
    second Tuesday 08:00-11:00 WIB) through a psycopg cursor; returns ``[(posyandu id, desa code)]``."""
    cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES "
                "('35','provinsi','Jawa Timur',NULL), ('3525','kabupaten','Kabupaten Gresik','35'), "
                "('352501','kecamatan','Kebomas','3525') ON CONFLICT DO NOTHING")
    cur.execute("INSERT INTO puskesmas (code, name, kecamatan_code, kabupaten_code) VALUES "
                "('BENCH-PKM','Puskesmas Bench','352501','3525') RETURNING id")
    pkm_id = cur.fetchone()[0]
    area = []
    for i in range(n_posyandu):
        desa = f"352501{2001 + i:04d}"
        cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES (%s,'desa',%s,'352501')",
                    (desa, f"Desa {i + 1}"))
        cur.execute(
            "INSERT INTO posyandu (code, name, desa_code, puskesmas_id, kabupaten_code, timezone,"
            " timezone_overridden, session_rule, session_start, session_end, is_active, created_at)"
            " VALUES (%s,%s,%s,%s,'3525','Asia/Jakarta',false,'nth_weekday:2:TUE','08:00','11:00',true,%s)"
            " RETURNING id", (f"BENCH-{i:03d}", f"Posyandu Bench {i + 1}", desa, pkm_id, now))
        area.append((cur.fetchone()[0], desa))
    return area


def _medians(age_months):
    """Rough median length (cm) and weight (kg) at an age in months (a float or a numpy array)."""
    median_l = 49.9 + 25.0 * (1 - 2.718 ** (-age_months / 9)) + 0.62 * age_months
    median_w = 3.3 + 6.5 * (1 - 2.718 ** (-age_months / 6)) + 0.17 * age_months
    return median_l, median_w


def weight_and_length(rng: random.Random, age_months: float, z_weight: float, z_length: float) -> tuple[float, float]:
    """A visit's weight (kg) and length (cm) near rough growth medians, shifted by the child's
    own z-scores with a little noise from visit to visit."""
    median_l, median_w = _medians(age_months)
    length = round(median_l * (1 + 0.037 * (z_length + rng.gauss(0, 0.15))), 1)
    weight = round(max(1.8, median_w * (1 + 0.11 * (z_weight + rng.gauss(0, 0.2)))), 1)
    return weight, length


def weight_and_length_array(gen, age_months, z_weight, z_length):
    """:func:`weight_and_length` for numpy arrays of visits (``gen``: a numpy Generator), for
    seeding millions of rows without a Python loop."""
    import numpy as np

    median_l, median_w = _medians(np.asarray(age_months, dtype=float))
    n = len(median_l)
    length = np.round(median_l * (1 + 0.037 * (z_length + gen.normal(0, 0.15, n))), 1)
    weight = np.round(np.maximum(1.8, median_w * (1 + 0.11 * (z_weight + gen.normal(0, 0.2, n)))), 1)
    return weight, length


#: Kabupaten Gresik (35.25): its 18 kecamatan with their number of desa/kelurahan (356 in all,
#: Kemendagri) and of puskesmas given here (30: two in the twelve kecamatan with the most desa).
GRESIK_KECAMATAN = (
    ("352501", "Wringinanom", 16, 1), ("352502", "Driyorejo", 16, 1), ("352503", "Kedamean", 15, 1),
    ("352504", "Menganti", 22, 2), ("352505", "Cerme", 25, 2), ("352506", "Benjeng", 23, 2),
    ("352507", "Balongpanggang", 25, 2), ("352508", "Duduksampeyan", 23, 2), ("352509", "Kebomas", 21, 2),
    ("352510", "Gresik", 21, 2), ("352511", "Manyar", 23, 2), ("352512", "Bungah", 22, 2),
    ("352513", "Sidayu", 21, 2), ("352514", "Dukun", 26, 2), ("352515", "Panceng", 14, 1),
    ("352516", "Ujungpangkah", 13, 1), ("352517", "Sangkapura", 17, 2), ("352518", "Tambak", 13, 1),
)


def insert_kabupaten(cur, n_posyandu: int, now: datetime) -> dict:
    """Kabupaten Gresik in the shape of :data:`GRESIK_KECAMATAN` (18 kecamatan, 356 desa, 30
    puskesmas, each serving a contiguous half of its kecamatan's desa) and ``n_posyandu``
    posyandu spread over the desa in turn, through a psycopg cursor. Returns lists:
    ``posyandu`` [(id, desa code, puskesmas id, kecamatan code)], ``puskesmas`` [(id, code,
    kecamatan code)], ``desa`` [codes]."""
    cur.execute("INSERT INTO region (code, level, name, parent_code) VALUES "
                "('35','provinsi','Jawa Timur',NULL), ('3525','kabupaten','Kabupaten Gresik','35') "
                "ON CONFLICT DO NOTHING")
    cur.executemany("INSERT INTO region (code, level, name, parent_code) VALUES (%s,'kecamatan',%s,'3525')",
                    [(code, name) for code, name, _, _ in GRESIK_KECAMATAN])
    desa_rows, desa_pkm, puskesmas = [], [], []
    for code, name, n_desa, n_pkm in GRESIK_KECAMATAN:
        pkm_ids = []
        for k in range(n_pkm):
            pkm_code = f"P{code}{k + 1:02d}"
            cur.execute("INSERT INTO puskesmas (code, name, kecamatan_code, kabupaten_code) VALUES (%s,%s,%s,'3525')"
                        " RETURNING id", (pkm_code, f"Puskesmas {name}{' ' + str(k + 1) if n_pkm > 1 else ''}", code))
            pkm_ids.append(cur.fetchone()[0])
            puskesmas.append((pkm_ids[-1], pkm_code, code))
        for d in range(n_desa):
            desa_rows.append((f"{code}{2001 + d:04d}", f"{name} Desa {d + 1}", code))
            desa_pkm.append((pkm_ids[d * n_pkm // n_desa], code))
    cur.executemany("INSERT INTO region (code, level, name, parent_code) VALUES (%s,'desa',%s,%s)", desa_rows)
    rows = []
    for i in range(n_posyandu):
        j = i % len(desa_rows)
        rows.append((f"PSY-{i:05d}", f"Posyandu {desa_rows[j][1]} {i // len(desa_rows) + 1}", desa_rows[j][0],
                     desa_pkm[j][0], f"nth_weekday:{1 + i % 4}:{('MON', 'TUE', 'WED', 'THU', 'SAT')[i % 5]}", now))
    cur.executemany(
        "INSERT INTO posyandu (code, name, desa_code, puskesmas_id, kabupaten_code, timezone, timezone_overridden,"
        " session_rule, session_start, session_end, is_active, created_at)"
        " VALUES (%s,%s,%s,%s,'3525','Asia/Jakarta',false,%s,'08:00','11:00',true,%s)", rows)
    cur.execute("SELECT id, code FROM posyandu WHERE code LIKE 'PSY-%%' ORDER BY code")
    ids = [pid for pid, _ in cur.fetchall()]
    posyandu = [(pid, desa_rows[i % len(desa_rows)][0], desa_pkm[i % len(desa_rows)][0],
                 desa_pkm[i % len(desa_rows)][1]) for i, pid in enumerate(ids)]
    return {"posyandu": posyandu, "puskesmas": puskesmas, "desa": [d[0] for d in desa_rows]}
