"""Hand-built month records for the nutrition-status, SKDN and trend tests.

August 2026 (a bulan penimbangan), Kabupaten Gresik. Every measurement carries the z-scores,
flags, categories and N/T/O/B stated below (as the growth engine stores them); expected numbers
in the tests are counted by hand from this table. Ages in completed months at the visit.

===== ===== ===== ========== ============================== ====== ===== ===== ===== ====================
child  sex   at    born       August record (date)           zlen   zwei  zwfl  NTOB  other
===== ===== ===== ========== ============================== ====== ===== ===== ===== ====================
c1    L     A1    2024-08-01 10 Aug (24 m)                  -2.5   -1.0   0.2  N     KIA book on child
c2    P     A1    2026-03-01 10 Aug (5 m)                   -3.2   -2.4  -2.1  B
c3    L     A1    2025-08-01 10 Aug (12 m)                   0.5    0.0   2.5  T     2T
c4    P     A1    2023-01-01 10 Aug (43 m)                  -6.5F  -1.5   1.0  T     zlen flagged (flen)
c5    L     A1    2024-01-01 not measured in August (July)                        KIA book on child
c6    P     A2    2025-02-01 12 Aug (18 m) oedema            -1.0   —     —     N
c7    L     B1    2024-05-01 5 Aug at A2 (-2.9), moved A2→B1 on 20 Aug, 25 Aug at B1: -2.1 -1.0 -0.5 O
c8    P     B1    2022-06-01 14 Aug (50 m)                  -1.0   -3.5  -1.5  O     BGM
c9    L     C1    2024-06-01 10 Aug (other kabupaten)       -3.5   -3.5  -3.5  B
c10   P     B1    2024-02-01 15 Aug (30 m)                  -1.0   -2.5I -2.5I —     weight implausible
===== ===== ===== ========== ============================== ====== ===== ===== ===== ====================

(I: the weight was found implausible against the previous visit: its z-scores count nowhere,
no category, no status.)

Kabupaten Gresik, August: S = 9 (c1-c8, c10), measured = 8 (not c5), excluded = 2 (c4, c10).
HAZ valid: c1 c2 c3 c6 c7 c8 c10 = 7; stunted c1 c2 c7 = 3; severely c2 = 1.
WAZ: c1 c2 c3 c4 c7 c8 + oedema c6 = 7; underweight c2 c8 c6 = 3; severely c8 c6 = 2.
WHZ: c1 c2 c3 c4 c7 c8 + oedema c6 = 7; wasted c2 c6 = 2; severely c6 = 1; overweight c3 = 1.
SKDN: S 9, K 8 (c5's book; c10 neither book nor D), D 7, N 2 (c1 c6), T 2 (c3 c4), O 2 (c7 c8),
B 1 (c2), BGM 1, 2T 1, weighed with an implausible weight 1 (c10).
"""
from __future__ import annotations

from datetime import date

from posyandu.extensions import db
from posyandu.reports.summary import refresh_child_months
from tests.reports.coverage_data import kid, measure, transfer

CATS = {"tbu": [(-3, "tbu.severely_stunted"), (-2, "tbu.stunted"), (3, "tbu.normal"), (99, "tbu.tall")],
        "bbu": [(-3, "bbu.severely_underweight"), (-2, "bbu.underweight"), (1, "bbu.normal"),
                (99, "bbu.risk_of_overweight")],
        "bbtb": [(-3, "bbtb.severely_wasted"), (-2, "bbtb.wasted"), (1, "bbtb.normal"),
                 (2, "bbtb.possible_risk_of_overweight"), (3, "bbtb.overweight"), (99, "bbtb.obese")]}


def _cat(index, z):
    if z is None:
        return None
    for upper, code in CATS[index]:
        if (z < upper) if upper in (-3, -2) else (z <= upper):
            return code
    return CATS[index][-1][1]


def record(child, on, *, zlen, zwei, zwfl, status, flen=False, oedema=False, is_2t=False, is_bgm=False,
           posyandu=None, weight=10.0, weight_implausible=False):
    return measure(child, on, posyandu=posyandu, weight_kg=weight, length_cm=80.0, measure_method="lying",
                   zlen=zlen, flen=flen, zwei=zwei, fwei=False, zwfl=zwfl, fwfl=False, oedema=oedema,
                   cat_tbu=None if flen else _cat("tbu", zlen),
                   cat_bbu=None if weight_implausible else _cat("bbu", zwei),
                   cat_bbtb=None if weight_implausible else _cat("bbtb", zwfl), trend_status=status, is_2t=is_2t,
                   is_bgm=is_bgm, weight_implausible=weight_implausible, length_implausible=False)


def nutrition_world(w):
    """Build the table above; returns the children by name."""
    a1, a2, b1, c1 = w.posyandu_a1, w.posyandu_a2, w.posyandu_b1, w.posyandu_c1
    c = {}
    c["c1"] = kid(a1, "Anak Satu", birth_date=date(2024, 8, 1))
    c["c1"].has_kia_book = True
    c["c2"] = kid(a1, "Anak Dua", birth_date=date(2026, 3, 1), sex=2)
    c["c3"] = kid(a1, "Anak Tiga", birth_date=date(2025, 8, 1))
    c["c4"] = kid(a1, "Anak Empat", birth_date=date(2023, 1, 1), sex=2)
    c["c5"] = kid(a1, "Anak Lima", birth_date=date(2024, 1, 1))
    c["c5"].has_kia_book = True
    c["c6"] = kid(a2, "Anak Enam", birth_date=date(2025, 2, 1), sex=2)
    c["c7"] = kid(a2, "Anak Tujuh", birth_date=date(2024, 5, 1))
    c["c8"] = kid(b1, "Anak Delapan", birth_date=date(2022, 6, 1), sex=2)
    c["c9"] = kid(c1, "Anak Sembilan", birth_date=date(2024, 6, 1))
    c["c10"] = kid(b1, "Anak Sepuluh", birth_date=date(2024, 2, 1), sex=2)
    aug = lambda day: date(2026, 8, day)  # noqa: E731
    record(c["c1"], aug(10), zlen=-2.5, zwei=-1.0, zwfl=0.2, status="N")
    record(c["c2"], aug(10), zlen=-3.2, zwei=-2.4, zwfl=-2.1, status="B")
    record(c["c3"], aug(10), zlen=0.5, zwei=0.0, zwfl=2.5, status="T", is_2t=True)
    record(c["c4"], aug(10), zlen=-6.5, flen=True, zwei=-1.5, zwfl=1.0, status="T")
    record(c["c5"], date(2026, 7, 10), zlen=-1.0, zwei=-1.0, zwfl=-1.0, status="B")
    record(c["c6"], aug(12), zlen=-1.0, zwei=None, zwfl=None, oedema=True, status="N")
    record(c["c7"], aug(5), zlen=-2.9, zwei=-1.0, zwfl=-0.5, status="O")
    transfer(c["c7"], a2, b1, aug(20))
    record(c["c7"], aug(25), zlen=-2.1, zwei=-1.0, zwfl=-0.5, status="O")
    record(c["c8"], aug(14), zlen=-1.0, zwei=-3.5, zwfl=-1.5, status="O", is_bgm=True)
    record(c["c9"], aug(10), zlen=-3.5, zwei=-3.5, zwfl=-3.5, status="B")
    record(c["c10"], aug(15), zlen=-1.0, zwei=-2.5, zwfl=-2.5, status=None, weight_implausible=True)
    db.session.flush()
    refresh_child_months(db.session, [row.id for row in c.values()])
    db.session.commit()
    return c
