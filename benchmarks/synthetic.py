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


def weight_and_length(rng: random.Random, age_months: float, z_weight: float, z_length: float) -> tuple[float, float]:
    """A visit's weight (kg) and length (cm) near rough growth medians, shifted by the child's
    own z-scores with a little noise from visit to visit."""
    median_l = 49.9 + 25.0 * (1 - pow(2.718, -age_months / 9)) + 0.62 * age_months
    median_w = 3.3 + 6.5 * (1 - pow(2.718, -age_months / 6)) + 0.17 * age_months
    length = round(median_l * (1 + 0.037 * (z_length + rng.gauss(0, 0.15))), 1)
    weight = round(max(1.8, median_w * (1 + 0.11 * (z_weight + rng.gauss(0, 0.2)))), 1)
    return weight, length
