"""The monthly session rule (posyandu-operations-id.md §4) and zone labels (§6).

Expected dates worked out by hand: 1 January 2026 is a Thursday; 334 days later (1 December
2026) is a Tuesday, so December 2026 has Tuesdays 1, 8, 15, 22, 29 and its 31st is a Thursday
(Fridays 4, 11, 18, 25). 1 January 2027 is a Friday (Tuesdays 5, 12, …; 31 January a Sunday).
"""
from datetime import date, datetime, time, timezone

import pytest

from posyandu.core import calendar as cal
from posyandu.core.calendar import SessionException


def test_second_tuesday_of_december_2026():
    assert cal.sessions_in_month("nth_weekday:2:TUE", 2026, 12) == [date(2026, 12, 8)]


def test_first_and_fourth_weekday():
    assert cal.regular_session("nth_weekday:1:TUE", 2026, 12) == date(2026, 12, 1)
    assert cal.regular_session("nth_weekday:1:MON", 2026, 12) == date(2026, 12, 7)
    assert cal.regular_session("nth_weekday:4:TUE", 2026, 12) == date(2026, 12, 22)


def test_last_friday():
    assert cal.sessions_in_month("nth_weekday:-1:FRI", 2026, 12) == [date(2026, 12, 25)]
    assert cal.sessions_in_month("nth_weekday:-1:FRI", 2027, 1) == [date(2027, 1, 29)]
    # December 2026 ends on a Thursday: the last Thursday is the 31st itself
    assert cal.sessions_in_month("nth_weekday:-1:THU", 2026, 12) == [date(2026, 12, 31)]


def test_day_31_clamps_to_the_end_of_february():
    assert cal.sessions_in_month("day_of_month:31", 2027, 2) == [date(2027, 2, 28)]
    assert cal.sessions_in_month("day_of_month:31", 2028, 2) == [date(2028, 2, 29)]  # leap year
    assert cal.sessions_in_month("day_of_month:31", 2027, 4) == [date(2027, 4, 30)]
    assert cal.sessions_in_month("day_of_month:10", 2026, 12) == [date(2026, 12, 10)]


def test_next_session_after_a_session_day_is_next_month():
    rule = "nth_weekday:2:TUE"
    assert cal.next_session(rule, date(2026, 12, 8)) == date(2027, 1, 12)
    assert cal.next_session(rule, date(2026, 12, 8), inclusive=True) == date(2026, 12, 8)
    assert cal.next_session(rule, date(2026, 12, 7)) == date(2026, 12, 8)
    assert cal.next_session("day_of_month:31", date(2027, 1, 31)) == date(2027, 2, 28)
    assert cal.next_session("nth_weekday:-1:FRI", date(2026, 12, 31)) == date(2027, 1, 29)


def test_sessions_between_spans_months():
    assert cal.sessions_between("nth_weekday:2:TUE", date(2026, 12, 1), date(2027, 1, 31)) == [
        date(2026, 12, 8), date(2027, 1, 12)]


def test_exceptions_layer_on_top_of_the_rule():
    rule = "nth_weekday:2:TUE"
    cancelled = SessionException("cancelled", date(2026, 12, 8))
    assert cal.sessions_in_month(rule, 2026, 12, [cancelled]) == []
    assert cal.next_session(rule, date(2026, 12, 1), [cancelled]) == date(2027, 1, 12)
    moved = SessionException("moved", date(2026, 12, 8), moved_to=date(2026, 12, 15))
    assert cal.sessions_in_month(rule, 2026, 12, [moved]) == [date(2026, 12, 15)]
    # January's session moved back into December (e.g. around a holiday)
    early = SessionException("moved", date(2027, 1, 12), moved_to=date(2026, 12, 30))
    assert cal.sessions_in_month(rule, 2026, 12, [early]) == [date(2026, 12, 8), date(2026, 12, 30)]
    assert cal.next_session(rule, date(2026, 12, 8), [early]) == date(2026, 12, 30)
    extra = SessionException("extra", date(2026, 12, 22))
    assert cal.sessions_in_month(rule, 2026, 12, [extra]) == [date(2026, 12, 8), date(2026, 12, 22)]


@pytest.mark.parametrize("text, canonical", [
    ("nth_weekday:2:TUE", "nth_weekday:2:TUE"),
    (" NTH_WEEKDAY:-1:fri ", "nth_weekday:-1:FRI"),
    ("day_of_month:10", "day_of_month:10"),
])
def test_rule_normalised(text, canonical):
    assert cal.normalise_rule(text) == canonical


@pytest.mark.parametrize("text", ["", "weekly", "nth_weekday:5:TUE", "nth_weekday:0:TUE", "nth_weekday:-2:TUE",
                                  "nth_weekday:2:TUESDAY", "nth_weekday:2", "day_of_month:0",
                                  "day_of_month:32", "day_of_month:x", "day_of_month:1:2"])
def test_bad_rules_rejected(text):
    with pytest.raises(cal.RuleError):
        cal.parse_rule(text)


@pytest.mark.parametrize("zone, label", [("Asia/Jakarta", "WIB"), ("Asia/Pontianak", "WIB"),
                                         ("Asia/Makassar", "WITA"), ("Asia/Jayapura", "WIT")])
def test_zone_labels(zone, label):
    assert cal.zone_label(zone) == label


def test_zone_label_refuses_non_indonesian_zone():
    with pytest.raises(ValueError):
        cal.zone_label("Europe/Amsterdam")


def test_session_start_in_utc():
    # WIB = UTC+7, WITA = UTC+8, WIT = UTC+9, no daylight saving
    on = date(2026, 12, 8)
    assert cal.session_start_utc(on, time(8, 0), "Asia/Jakarta") == datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)
    assert cal.session_start_utc(on, time(8, 0), "Asia/Makassar") == datetime(2026, 12, 8, 0, 0, tzinfo=timezone.utc)
    assert cal.session_start_utc(on, time(8, 0), "Asia/Jayapura") == datetime(2026, 12, 7, 23, 0, tzinfo=timezone.utc)


def test_local_today_crosses_midnight_by_zone():
    now = datetime(2026, 12, 7, 16, 30, tzinfo=timezone.utc)  # 23.30 WIB, 00.30 WITA, 01.30 WIT
    assert cal.local_today("Asia/Jakarta", now) == date(2026, 12, 7)
    assert cal.local_today("Asia/Makassar", now) == date(2026, 12, 8)


def test_indonesian_display():
    assert cal.format_session_id(date(2026, 12, 8), time(8, 0), "Asia/Jakarta") == \
        "Selasa, 8 Desember 2026 pukul 08.00 WIB"
    assert cal.format_session_id(date(2026, 12, 10), time(7, 30), "Asia/Makassar") == \
        "Kamis, 10 Desember 2026 pukul 07.30 WITA"
    assert cal.format_date_id(date(2027, 1, 29)) == "Jumat, 29 Januari 2027"


def test_rule_descriptions():
    start, end = time(8, 0), time(11, 0)
    assert cal.describe_rule("nth_weekday:2:TUE", start, end, "Asia/Jakarta") == "Setiap Selasa kedua, 08.00–11.00 WIB"
    assert cal.describe_rule("nth_weekday:2:TUE", start, end, "Asia/Jakarta", language="en") == \
        "Every second Tuesday, 08:00–11:00 WIB"
    assert cal.describe_rule("nth_weekday:-1:FRI", time(7, 30), time(10, 30), "Asia/Jayapura") == \
        "Setiap Jumat terakhir, 07.30–10.30 WIT"
    assert cal.describe_rule("day_of_month:10", start, end, "Asia/Makassar") == "Setiap tanggal 10, 08.00–11.00 WITA"
    assert cal.describe_rule("day_of_month:10", language="en") == "Every month on day 10"
    assert cal.describe_rule("day_of_month:31") == "Setiap tanggal 31 (atau hari terakhir bulan itu)"


def test_parse_local_time():
    assert cal.parse_local_time("08:00") == time(8, 0)
    assert cal.parse_local_time("07.30") == time(7, 30)
    for bad in ("8", "24:00", "08:60", "pagi", ""):
        with pytest.raises(ValueError):
            cal.parse_local_time(bad)
