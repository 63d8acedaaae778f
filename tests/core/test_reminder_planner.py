"""The pure reminder planner (posyandu/core/reminders.py). Expected dates and instants worked
out by hand: 8 December 2026 is the second Tuesday of the month; 07:00 WIB (UTC+7) = 00:00 UTC,
07:00 WITA (UTC+8) = 23:00 UTC the day before, 07:00 WIT (UTC+9) = 22:00 UTC the day before.
Child born 1 Oct 2026: the 2-month doses (DPT-HB-Hib 1, Polio tetes 2, PCV 1, Rotavirus 1) are
recommended on 1 Dec 2026 (immunization-schedule-id.md)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from posyandu.core import reminders as r
from posyandu.reminders.templates import FORBIDDEN_WORDS, load_templates, render_message, render_text

UTC = timezone.utc
SESSION = date(2026, 12, 8)
NEXT_SESSION = date(2027, 1, 12)
BORN = date(2026, 10, 1)
GIVEN_AT_BIRTH = (("HB0", date(2026, 10, 1)), ("BCG", date(2026, 10, 20)), ("OPV1", date(2026, 10, 20)))


def posyandu(zone="Asia/Jakarta", sessions=(SESSION, NEXT_SESSION, date(2027, 2, 9)), pid=1):
    return r.PosyanduInfo(pid, "Posyandu Melati", zone, time(8, 0), tuple(sessions), "Jl. Giri 1")


def child(birth=BORN, doses=GIVEN_AT_BIRTH, name="Ahmad"):
    return r.ChildInfo("c1", birth, name, tuple(doses))


def at(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def by_kind(plan):
    return {(p.kind, p.ref_date): p for p in plan.wanted}


NOW = at(2026, 12, 1, 12)  # 19:00 WIB on Tuesday 1 December


def test_h3_and_h0_for_doses_due_before_the_next_session_merged_in_one_message():
    plan = r.plan_child(child(), posyandu(), NOW, horizon_days=7)
    kinds = by_kind(plan)
    h3, h0 = kinds[("imm_h3", SESSION)], kinds[("imm_h0", SESSION)]
    assert h3.ref_key == h0.ref_key == "DPTHBHIB1+OPV2+PCV1+RV1"
    assert h3.send_at == at(2026, 12, 5, 0)   # Saturday 5 Dec 07:00 WIB
    assert h0.send_at == at(2026, 12, 8, 0)   # Tuesday 8 Dec 07:00 WIB
    # one push per child per day: the H-0 replaces the weighing push of that morning
    assert ("weighing", SESSION) not in kinds
    assert len(plan.wanted) == 2
    title, body = render_text("imm_h3", h3.params, "id")
    assert body == ("Halo Ayah/Bunda, Ahmad dijadwalkan imunisasi DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan "
                    "Rotavirus 1 pada Selasa, 8 Desember 2026 pukul 08.00 WIB di Posyandu Melati. "
                    "Jangan lupa bawa Buku KIA ya.")


def test_dose_due_between_h3_and_the_session_is_anchored_to_that_session():
    # born 8 Oct: the 2-month doses are recommended on 8 Dec = the session day itself
    plan = r.plan_child(child(birth=date(2026, 10, 8), doses=(("HB0", date(2026, 10, 8)),)),
                        posyandu(), NOW, horizon_days=7)
    h3 = by_kind(plan)[("imm_h3", SESSION)]
    assert "DPTHBHIB1" in h3.ref_key.split("+")
    # born 9 Oct: recommended 9 Dec, after the session → next session (12 Jan), outside the window
    plan = r.plan_child(child(birth=date(2026, 10, 9), doses=(("HB0", date(2026, 10, 9)), ("BCG", date(2026, 11, 9)),
                                                               ("OPV1", date(2026, 11, 9)))),
                        posyandu(), NOW, horizon_days=7)
    assert [p.kind for p in plan.wanted] == ["weighing"]


def test_time_zones_wit_two_hours_before_wib_wita_between():
    sends = {}
    for zone in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"):
        plan = r.plan_child(child(), posyandu(zone), NOW, horizon_days=7)
        sends[zone] = by_kind(plan)[("imm_h0", SESSION)].send_at
    assert sends["Asia/Jakarta"] == at(2026, 12, 8, 0)
    assert sends["Asia/Makassar"] == at(2026, 12, 7, 23)
    assert sends["Asia/Jayapura"] == at(2026, 12, 7, 22)
    assert sends["Asia/Jakarta"] - sends["Asia/Jayapura"] == timedelta(hours=2)
    _, body = render_text("imm_h0", by_kind(r.plan_child(child(), posyandu("Asia/Jayapura"), NOW))
                          [("imm_h0", SESSION)].params, "id")
    assert "mulai 08.00 WIT" in body


def test_already_given_dose_is_suppressed():
    doses = GIVEN_AT_BIRTH + (("DPTHBHIB1", date(2026, 11, 30)),)
    plan = r.plan_child(child(doses=doses), posyandu(), NOW, horizon_days=7)
    assert by_kind(plan)[("imm_h0", SESSION)].ref_key == "OPV2+PCV1+RV1"
    every = GIVEN_AT_BIRTH + tuple((c, date(2026, 11, 30)) for c in ("DPTHBHIB1", "OPV2", "PCV1", "RV1"))
    plan = r.plan_child(child(doses=every), posyandu(), NOW, horizon_days=7)
    assert [p.kind for p in plan.wanted] == ["weighing"]


def test_dose_beyond_max_age_on_the_session_is_suppressed():
    # HB0 may be given up to 7 days after birth (inclusive; HB0 max age 7d in the overlay).
    # born 30 Nov: last day 7 Dec < session 8 Dec → no immunization reminder
    plan = r.plan_child(child(birth=date(2026, 11, 30), doses=()), posyandu(), NOW, horizon_days=7)
    assert [p.kind for p in plan.wanted] == ["weighing"]
    # born 1 Dec: last day 8 Dec = the session → reminded
    plan = r.plan_child(child(birth=date(2026, 12, 1), doses=()), posyandu(), NOW, horizon_days=7)
    assert by_kind(plan)[("imm_h0", SESSION)].ref_key == "HB0"


def fully_immunized(birth):
    """Every applicable dose given on its recommended date."""
    from posyandu.core.schedule import evaluate_child
    doses = []
    for d in evaluate_child(birth, [], today=birth).doses:
        if d.recommended_date is not None and d.applicable:
            doses.append((d.code, d.recommended_date))
    return tuple(doses)


def test_weighing_once_per_session_and_only_under_60_months():
    older = child(birth=date(2024, 1, 10), doses=fully_immunized(date(2024, 1, 10)))
    plan = r.plan_child(older, posyandu(), NOW, horizon_days=7)
    weighing = [p for p in plan.wanted if p.kind == "weighing"]
    assert len(weighing) == 1 and weighing[0].ref_key == "session" and weighing[0].ref_date == SESSION
    assert weighing[0].send_at == at(2026, 12, 8, 0)
    # a second run the next day wants the very same key
    again = r.plan_child(older, posyandu(), at(2026, 12, 2, 12), horizon_days=7)
    assert {p.key for p in again.wanted if p.kind == "weighing"} == {weighing[0].key}
    # 60 months old on 8 Dec 2026 (born 8 Dec 2021): no weighing reminder
    born = date(2021, 12, 8)
    assert r.plan_child(child(birth=born, doses=fully_immunized(born)), posyandu(), NOW).wanted == []
    born = date(2021, 12, 9)
    assert [p.kind for p in r.plan_child(child(birth=born, doses=fully_immunized(born)), posyandu(),
                                         NOW).wanted] == ["weighing"]


def test_late_planning_h0_sent_as_soon_as_allowed_or_not_at_all():
    # 08:30 WIB on the session day (1.5 h after 07:00, within the 3 h grace) → sent now
    plan = r.plan_child(child(), posyandu(), at(2026, 12, 8, 1, 30), horizon_days=7)
    assert by_kind(plan)[("imm_h0", SESSION)].send_at == at(2026, 12, 8, 1, 30)
    # 10:01 WIB: more than 3 h late → nothing for that day
    plan = r.plan_child(child(), posyandu(), at(2026, 12, 8, 3, 1), horizon_days=7)
    assert ("imm_h0", SESSION) not in by_kind(plan)
    # never in the past: H-3 (5 Dec) is not created when planning on 7 Dec
    plan = r.plan_child(child(), posyandu(), at(2026, 12, 7, 0), horizon_days=7)
    assert ("imm_h3", SESSION) not in by_kind(plan)
    assert all(p.send_at >= at(2026, 12, 7, 0) for p in plan.wanted)


def test_global_and_parent_quiet_hours():
    jkt = "Asia/Jakarta"
    send = at(2026, 12, 8, 0)  # 07:00 WIB
    # parent quiet 06:00–09:00 → 09:00 WIB = 02:00 UTC
    assert r.delivery_time(send, jkt, at(2026, 12, 1), time(6), time(9)) == at(2026, 12, 8, 2)
    # quiet over midnight 22:00–07:30 → 07:30 WIB
    assert r.delivery_time(send, jkt, at(2026, 12, 1), time(22), time(7, 30)) == at(2026, 12, 8, 0, 30)
    # no quiet hours: unchanged; start == end means none
    assert r.delivery_time(send, jkt, at(2026, 12, 1)) == send
    assert r.delivery_time(send, jkt, at(2026, 12, 1), time(7), time(7)) == send
    # global: 21:30 WIB (14:30 UTC) → 06:00 WIB next day; 05:00 WIB → 06:00 WIB
    assert r.move_out_of_quiet(at(2026, 12, 8, 14, 30), jkt) == at(2026, 12, 8, 23)
    assert r.move_out_of_quiet(at(2026, 12, 7, 22), jkt) == at(2026, 12, 7, 23)
    assert r.move_out_of_quiet(at(2026, 12, 8, 12, 59), jkt) == at(2026, 12, 8, 12, 59)  # 19:59 allowed
    # parent quiet ending inside the global period (12:00–22:00) → 06:00 next day
    assert r.move_out_of_quiet(at(2026, 12, 8, 6), jkt, time(12), time(22)) == at(2026, 12, 8, 23)
    # quiet hours leaving no allowed time (05:00–23:30) → only the global rule applies
    assert r.delivery_time(send, jkt, at(2026, 12, 1), time(5), time(23, 30)) == send
    # never before now: a delivery created at 10:00 WIB for a 07:00 reminder is due at once
    assert r.delivery_time(send, jkt, at(2026, 12, 8, 3)) == at(2026, 12, 8, 3)


# --- catch-up (overdue) ------------------------------------------------------------------------

FAR = (date(2027, 1, 20),)  # the posyandu's next session is far away
OVERDUE_CHILD = dict(birth=date(2026, 8, 1), doses=(("HB0", date(2026, 8, 1)), ("BCG", date(2026, 9, 1)),
                                                     ("OPV1", date(2026, 9, 1))))


def _simulate(days, sessions=FAR, horizon=7, start=date(2026, 12, 2)):
    """Run the planner daily at 05:00 WIB for ``days`` days, keeping what it planned."""
    existing: dict = {}
    for i in range(days):
        now = datetime.combine(start + timedelta(days=i), time(5), tzinfo=r._zone("Asia/Jakarta")).astimezone(UTC)
        plan = r.plan_child(child(**OVERDUE_CHILD), posyandu(sessions=sessions), now, horizon_days=horizon,
                            existing=existing.values())
        for e in plan.cancel:
            existing[e.key] = r.ExistingReminder(*e.key, e.send_at, cancelled=True)
        for p in plan.wanted:
            existing.setdefault(p.key, r.ExistingReminder(*p.key, p.send_at))
    return sorted((e for e in existing.values() if e.kind == "overdue" and not e.cancelled),
                  key=lambda e: e.send_at)


def test_overdue_reminder_weekly_and_at_most_three_times_per_dose():
    # DPT-HB-Hib 1, Polio 2, PCV 1, RV 1: recommended 1 Oct, overdue from 1 Nov (1 month grace)
    # (IPV 1, recommended at 4 months = 1 Dec, becomes overdue on 1 Jan 2027)
    sent = _simulate(45)
    days = [e.send_at.astimezone(r._zone("Asia/Jakarta")).date() for e in sent]
    assert days[:3] == [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 16)]
    assert [e.ref_key for e in sent[:3]] == ["DPTHBHIB1+OPV2+PCV1+RV1"] * 3
    assert [e.ref_date for e in sent[:3]] == [date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)]  # Mondays
    assert all(e.send_at.astimezone(r._zone("Asia/Jakarta")).time() == time(7) for e in sent)
    # never more than three per dose, never closer than 7 days, none once the session (20 Jan) is near
    counts = {}
    for e in sent:
        for code in e.ref_key.split("+"):
            counts[code] = counts.get(code, 0) + 1
    assert max(counts.values()) == 3
    assert all((b - a).days >= 7 for a, b in zip(days, days[1:]))
    assert days[3:] == [date(2027, 1, 1), date(2027, 1, 8)]  # not from 10 Jan: the session is near
    assert [e.ref_key for e in sent[3:]] == ["IPV1", "IPV1"]


def test_overdue_counts_history_and_spacing():
    jkt = r._zone("Asia/Jakarta")
    sent_on = lambda d: datetime.combine(d, time(7), tzinfo=jkt).astimezone(UTC)  # noqa: E731
    history = [r.ExistingReminder("overdue", "DPTHBHIB1+OPV2+PCV1+RV1", date(2026, 11, 16), sent_on(date(2026, 11, 16))),
               r.ExistingReminder("overdue", "DPTHBHIB1+OPV2+PCV1+RV1", date(2026, 11, 23), sent_on(date(2026, 11, 27)))]
    plan = r.plan_child(child(**OVERDUE_CHILD), posyandu(sessions=FAR), at(2026, 11, 30, 20), horizon_days=14,
                        existing=history)
    overdue = [p for p in plan.wanted if p.kind == "overdue"]
    # last one 27 Nov → not before 4 Dec; two already → one more per dose
    assert [(p.ref_date, p.send_at) for p in overdue] == [(date(2026, 11, 30), sent_on(date(2026, 12, 4)))]


def test_no_overdue_reminder_when_a_session_is_near():
    # session on 8 Dec is within 10 days of 2 Dec: the H-3/H-0 remind instead
    plan = r.plan_child(child(**OVERDUE_CHILD), posyandu(), at(2026, 12, 1, 22), horizon_days=7)
    assert {p.kind for p in plan.wanted} == {"imm_h3", "imm_h0"}
    # IPV 1 (recommended at 4 months = 1 Dec) is due at that session too
    assert by_kind(plan)[("imm_h0", SESSION)].ref_key == "DPTHBHIB1+OPV2+PCV1+RV1+IPV1"


def test_overdue_text_names_the_next_session_or_the_puskesmas():
    plan = r.plan_child(child(**OVERDUE_CHILD), posyandu(sessions=FAR), at(2026, 12, 1, 22), horizon_days=0)
    (p,) = plan.wanted
    assert render_text("overdue", p.params, "id")[1] == (
        "Ahmad belum mendapat imunisasi DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1. Imunisasi masih "
        "bisa dikejar. Silakan datang ke posyandu berikutnya (Rabu, 20 Januari 2027) atau ke puskesmas terdekat.")
    plan = r.plan_child(child(**OVERDUE_CHILD), posyandu(sessions=()), at(2026, 12, 1, 22), horizon_days=0)
    assert "puskesmas terdekat" in render_text("overdue", plan.wanted[0].params, "id")[1]


# --- reconciliation and one push per day --------------------------------------------------------

def test_reminder_for_a_dose_recorded_meanwhile_is_cancelled_and_replaced():
    first = r.plan_child(child(), posyandu(), NOW, horizon_days=7)
    existing = [r.ExistingReminder(*p.key, p.send_at, id=i) for i, p in enumerate(first.wanted)]
    doses = GIVEN_AT_BIRTH + (("RV1", date(2026, 12, 2)),)
    second = r.plan_child(child(doses=doses), posyandu(), at(2026, 12, 2, 12), horizon_days=7, existing=existing)
    assert {e.kind for e in second.cancel} == {"imm_h3", "imm_h0"}
    assert {p.ref_key for p in second.wanted} == {"DPTHBHIB1+OPV2+PCV1"}


def test_a_day_with_a_push_already_sent_gets_no_other():
    # H-0 sent at 07:00; the dose given at 08:30; planning at 09:00 must not send a second push
    sent = r.ExistingReminder("imm_h0", "DPTHBHIB1+OPV2+PCV1+RV1", SESSION, at(2026, 12, 8, 0))
    doses = GIVEN_AT_BIRTH + (("DPTHBHIB1", SESSION),)
    plan = r.plan_child(child(doses=doses), posyandu(), at(2026, 12, 8, 2), horizon_days=7, existing=[sent])
    assert [p for p in plan.wanted if p.ref_date == SESSION] == []
    assert plan.cancel == []


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        r.plan_child(child(), posyandu(), datetime(2026, 12, 1))


# --- templates ----------------------------------------------------------------------------------

def test_english_texts_and_data_payload_of_strings():
    h0 = by_kind(r.plan_child(child(), posyandu(), NOW))[("imm_h0", SESSION)]
    message = render_message(kind="imm_h0", params=h0.params, lang="en", reminder_id=42, child_id="c1",
                             posyandu_id=1)
    assert message["body"] == ("Today Ahmad is due for DPT-HB-Hib 1, Polio drops 2, PCV 1 and Rotavirus 1 "
                               "immunization at Posyandu Melati from 08:00 WIB. We look forward to seeing you.")
    assert message["language"] == "en"
    assert message["data"] == {"child_id": "c1", "reminder_id": "42", "kind": "imm_h0",
                               "screen": "immunization_schedule", "posyandu_id": "1", "session_date": "2026-12-08"}
    assert all(isinstance(v, str) for v in message["data"].values())
    weighing = render_message(kind="weighing", params=h0.params | {"doses": []}, lang="id", reminder_id=1,
                              child_id="c1", posyandu_id=1)
    assert weighing["data"]["screen"] == "posyandu_day"
    h3 = by_kind(r.plan_child(child(), posyandu(), NOW))[("imm_h3", SESSION)]
    assert "on Tuesday, 8 December 2026 at 08:00 WIB" in render_text("imm_h3", h3.params, "en")[1]


def test_templates_have_no_stigmatising_words():
    data = load_templates()
    for lang in ("id", "en"):
        for entry in data[lang].values():
            for text in entry.values():
                assert not any(word in text.lower() for word in FORBIDDEN_WORDS)
