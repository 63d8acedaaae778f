"""The monthly posyandu session: recurrence rules, session dates, zone labels, Indonesian display.

Pure code (no Flask, no SQLAlchemy). posyandu-operations-id.md §4 and §6.

Rules (stored as text on the posyandu):

- ``nth_weekday:N:DOW``: the N-th weekday of the month, N in 1..4, or -1 for the last one;
  DOW one of MON TUE WED THU FRI SAT SUN. ``nth_weekday:2:TUE`` = every second Tuesday.
- ``day_of_month:D``: day D (1..31) of every month, clamped to the month's last day
  (``day_of_month:31`` falls on 28/29 February, 30 April …).

Calendar exceptions (a session moved, cancelled, or an extra one) are layered on top of the
rule: every function that yields dates takes ``exceptions``, an iterable of objects with
``kind`` ("moved", "cancelled" or "extra"), ``on`` (the regular date affected, or the extra
session's date) and ``moved_to`` (for "moved"). :class:`SessionException` is such an object;
any other object with those attributes (an ORM row) works too.
"""
from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Protocol
from zoneinfo import ZoneInfo

WEEKDAY_CODES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
WEEKDAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
             "September", "Oktober", "November", "Desember")
ORDINALS_ID = {1: "pertama", 2: "kedua", 3: "ketiga", 4: "keempat", -1: "terakhir"}
ORDINALS_EN = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}

#: The three Indonesian zones (Keppres 41/1987) and their IANA zones (§6).
ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
INDONESIAN_ZONES = tuple(ZONE_LABELS)
_LABEL_BY_OFFSET_HOURS = {7: "WIB", 8: "WITA", 9: "WIT"}


class RuleError(ValueError):
    """A session rule that cannot be parsed or is out of range."""


@dataclass(frozen=True)
class SessionRule:
    kind: str  # "nth_weekday" | "day_of_month"
    n: int | None = None  # 1..4 or -1 (nth_weekday)
    weekday: int | None = None  # 0 = Monday … 6 = Sunday (nth_weekday)
    day: int | None = None  # 1..31 (day_of_month)

    def __str__(self) -> str:
        if self.kind == "nth_weekday":
            return f"nth_weekday:{self.n}:{WEEKDAY_CODES[self.weekday]}"
        return f"day_of_month:{self.day}"


class ExceptionLike(Protocol):
    kind: str
    on: date
    moved_to: date | None


@dataclass(frozen=True)
class SessionException:
    """One-off change to the regular schedule (holiday, Ramadan, an extra session)."""

    kind: str  # "moved" | "cancelled" | "extra"
    on: date
    moved_to: date | None = None


def parse_rule(text: str | SessionRule) -> SessionRule:
    """Parse ``nth_weekday:N:DOW`` or ``day_of_month:D`` (case and surrounding space tolerated)."""
    if isinstance(text, SessionRule):
        return text
    if not isinstance(text, str) or not text.strip():
        raise RuleError("The session rule is empty; use nth_weekday:N:DOW or day_of_month:D.")
    parts = [p.strip() for p in text.strip().split(":")]
    kind = parts[0].lower()
    if kind == "nth_weekday":
        if len(parts) != 3:
            raise RuleError("Use nth_weekday:N:DOW, e.g. nth_weekday:2:TUE.")
        try:
            n = int(parts[1])
        except ValueError:
            raise RuleError("N in nth_weekday:N:DOW must be 1, 2, 3, 4 or -1 (last).") from None
        if n not in (1, 2, 3, 4, -1):
            raise RuleError("N in nth_weekday:N:DOW must be 1, 2, 3, 4 or -1 (last).")
        dow = parts[2].upper()
        if dow not in WEEKDAY_CODES:
            raise RuleError("DOW in nth_weekday:N:DOW must be one of " + ", ".join(WEEKDAY_CODES) + ".")
        return SessionRule("nth_weekday", n=n, weekday=WEEKDAY_CODES.index(dow))
    if kind == "day_of_month":
        if len(parts) != 2:
            raise RuleError("Use day_of_month:D, e.g. day_of_month:10.")
        try:
            day = int(parts[1])
        except ValueError:
            raise RuleError("D in day_of_month:D must be a day 1..31.") from None
        if not 1 <= day <= 31:
            raise RuleError("D in day_of_month:D must be a day 1..31.")
        return SessionRule("day_of_month", day=day)
    raise RuleError("Unknown session rule; use nth_weekday:N:DOW or day_of_month:D.")


def normalise_rule(text: str) -> str:
    """The canonical text of a rule (``NTH_WEEKDAY:2:tue`` → ``nth_weekday:2:TUE``)."""
    return str(parse_rule(text))


def regular_session(rule: str | SessionRule, year: int, month: int) -> date:
    """The date the rule gives in one month, before exceptions."""
    rule = parse_rule(rule)
    last_day = _calendar.monthrange(year, month)[1]
    if rule.kind == "day_of_month":
        return date(year, month, min(rule.day, last_day))
    if rule.n == -1:
        last = date(year, month, last_day)
        return last - timedelta(days=(last.weekday() - rule.weekday) % 7)
    first = date(year, month, 1)
    first_match = first + timedelta(days=(rule.weekday - first.weekday()) % 7)
    return first_match + timedelta(weeks=rule.n - 1)  # n <= 4 always fits in the month


def apply_exceptions(dates: Iterable[date], exceptions: Iterable[ExceptionLike] = (),
                     *, start: date | None = None, end: date | None = None) -> list[date]:
    """Regular session dates with exceptions applied, sorted, limited to [start, end]."""
    result = set(dates)
    for exc in exceptions:
        if exc.kind in ("cancelled", "moved"):
            result.discard(exc.on)
        if exc.kind == "moved" and exc.moved_to is not None:
            result.add(exc.moved_to)
        elif exc.kind == "extra":
            result.add(exc.on)
    return sorted(d for d in result if (start is None or d >= start) and (end is None or d <= end))


def sessions_in_month(rule: str | SessionRule, year: int, month: int,
                      exceptions: Iterable[ExceptionLike] = ()) -> list[date]:
    """Session dates in one month (one regular date; exceptions may remove, move or add)."""
    first = date(year, month, 1)
    last = date(year, month, _calendar.monthrange(year, month)[1])
    return apply_exceptions([regular_session(rule, year, month)], exceptions, start=first, end=last)


def _month_iter(start: date, end: date):
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def sessions_between(rule: str | SessionRule, start: date, end: date,
                     exceptions: Iterable[ExceptionLike] = ()) -> list[date]:
    """All session dates with ``start <= d <= end``."""
    rule = parse_rule(rule)
    regular = [regular_session(rule, y, m) for y, m in _month_iter(start, end)]
    return apply_exceptions(regular, exceptions, start=start, end=end)


def next_session(rule: str | SessionRule, after: date, exceptions: Iterable[ExceptionLike] = (),
                 *, inclusive: bool = False) -> date | None:
    """The first session strictly after ``after`` (on or after it when ``inclusive``).

    Looks up to 13 months ahead (a moved session can jump past a month); ``None`` only if
    exceptions cancel everything in that window.
    """
    rule = parse_rule(rule)
    exceptions = tuple(exceptions)
    start = after if inclusive else after + timedelta(days=1)
    end_year, end_month = divmod(start.year * 12 + start.month - 1 + 13, 12)
    end = date(end_year, end_month + 1, 1) - timedelta(days=1)
    # regular dates from the month before too: one may have been moved into the window
    from_ = date(start.year - 1, 12, 1) if start.month == 1 else date(start.year, start.month - 1, 1)
    regular = [regular_session(rule, y, m) for y, m in _month_iter(from_, end)]
    dates = apply_exceptions(regular, exceptions, start=start, end=end)
    return dates[0] if dates else None


# --- time zones -------------------------------------------------------------------------------

def zone_label(zone: str) -> str:
    """WIB / WITA / WIT for an Indonesian IANA zone (by offset for other zones at +7/+8/+9)."""
    if zone in ZONE_LABELS:
        return ZONE_LABELS[zone]
    try:
        offset = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)).utcoffset()
    except Exception:  # ZoneInfoNotFoundError, ValueError
        raise ValueError(f"Unknown time zone {zone!r}.") from None
    hours = offset.total_seconds() / 3600
    if hours in _LABEL_BY_OFFSET_HOURS:
        return _LABEL_BY_OFFSET_HOURS[int(hours)]
    raise ValueError(f"{zone!r} is not an Indonesian time zone (WIB/WITA/WIT).")


def session_start_utc(on: date, start: time, zone: str) -> datetime:
    """The instant a session starts, as an aware UTC datetime (reminders are stored in UTC)."""
    return datetime.combine(on, start, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def local_today(zone: str, now: datetime | None = None) -> date:
    """Today's date in ``zone`` (``now`` an aware datetime, default the current instant)."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(ZoneInfo(zone)).date()


# --- display --------------------------------------------------------------------------------

def format_time_id(t: time) -> str:
    """Indonesian style: a period between hours and minutes (``08.00``)."""
    return f"{t.hour:02d}.{t.minute:02d}"


def format_date_id(d: date) -> str:
    """``Selasa, 8 Desember 2026``."""
    return f"{WEEKDAYS_ID[d.weekday()]}, {d.day} {MONTHS_ID[d.month - 1]} {d.year}"


def format_session_id(d: date, start: time, zone: str) -> str:
    """``Selasa, 8 Desember 2026 pukul 08.00 WIB``."""
    return f"{format_date_id(d)} pukul {format_time_id(start)} {zone_label(zone)}"


def describe_rule(rule: str | SessionRule, start: time | None = None, end: time | None = None,
                  zone: str | None = None, *, language: str = "id") -> str:
    """Human description: ``Setiap Selasa kedua, 08.00–11.00 WIB`` /
    ``Every second Tuesday, 08:00–11:00 WIB``."""
    rule = parse_rule(rule)
    if language == "id":
        if rule.kind == "nth_weekday":
            text = f"Setiap {WEEKDAYS_ID[rule.weekday]} {ORDINALS_ID[rule.n]}"
        else:
            text = f"Setiap tanggal {rule.day}"
            if rule.day >= 29:
                text += " (atau hari terakhir bulan itu)"
        fmt = format_time_id
    elif language == "en":
        if rule.kind == "nth_weekday":
            text = f"Every {ORDINALS_EN[rule.n]} {WEEKDAYS_EN[rule.weekday]}"
        else:
            text = f"Every month on day {rule.day}"
            if rule.day >= 29:
                text += " (or the month's last day)"
        fmt = lambda t: f"{t.hour:02d}:{t.minute:02d}"  # noqa: E731
    else:
        raise ValueError("language must be 'id' or 'en'")
    if start is not None:
        text += f", {fmt(start)}" + (f"–{fmt(end)}" if end is not None else "")
        if zone:
            text += f" {zone_label(zone)}"
    return text


def parse_local_time(text: str) -> time:
    """``08:00`` or ``08.00`` (Indonesian style) → ``time(8, 0)``; raises ValueError."""
    if isinstance(text, time):
        return text
    raw = (text or "").strip().replace(".", ":")
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError("Use HH:MM (or HH.MM), e.g. 08:00.")
    hour, minute = int(parts[0]), int(parts[1])
    second = int(parts[2]) if len(parts) == 3 else 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        raise ValueError("Use HH:MM (or HH.MM), e.g. 08:00.")
    return time(hour, minute, second)
