"""Parent push texts (Bahasa Indonesia / English) from the editable ``data/templates.json``.

Each language has one ``{title, body}`` per reminder kind (plus ``overdue_no_session`` for a
catch-up push when the posyandu has no known next session). Placeholders are the §7 ones:
``{nama_anak}``, ``{nama_posyandu}``, ``{alamat}``, ``{tanggal}``, ``{jam}``, ``{zona}``,
``{vaksin}``. The file is checked when loaded: both languages, every kind, known placeholders
only, and none of the words §7 forbids in pushes.

:func:`render_message` turns a reminder's stored ``params`` into the FCM message stored on the
delivery: ``{"title", "body", "data", "language"}``, ``data`` holding only strings (FCM needs
strings): ``child_id``, ``reminder_id``, ``kind``, ``screen`` ('immunization_schedule' or
'posyandu_day'), ``posyandu_id`` and ``session_date`` (ISO, '' when none).
"""
from __future__ import annotations

import json
import string
from datetime import date, time
from functools import lru_cache
from pathlib import Path

from ..core.calendar import WEEKDAYS_EN, format_date_id, format_time_id, zone_label
from ..core.reminders import KINDS, SCREENS
from ..core.schedule import join_vaccine_names

TEMPLATES_PATH = Path(__file__).with_name("data") / "templates.json"
LANGUAGES = ("id", "en")
PLACEHOLDERS = frozenset({"nama_anak", "nama_posyandu", "alamat", "tanggal", "jam", "zona", "vaksin"})
TEMPLATE_KEYS = KINDS + ("overdue_no_session",)
#: §7: no stigmatising words in pushes.
FORBIDDEN_WORDS = ("stunting", "gizi buruk", "gagal")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")


class TemplateError(ValueError):
    pass


def check_templates(data: dict) -> None:
    """Raise :class:`TemplateError` when the template file is incomplete or wrong."""
    for lang in LANGUAGES:
        texts = data.get(lang)
        if not isinstance(texts, dict):
            raise TemplateError(f"templates: language {lang!r} missing")
        for key in TEMPLATE_KEYS:
            entry = texts.get(key)
            if not isinstance(entry, dict) or not all(isinstance(entry.get(p), str) and entry[p]
                                                      for p in ("title", "body")):
                raise TemplateError(f"templates: {lang}.{key} needs a title and a body")
            for part in ("title", "body"):
                names = {f for _, f, _, _ in string.Formatter().parse(entry[part]) if f is not None}
                unknown = names - PLACEHOLDERS
                if unknown:
                    raise TemplateError(f"templates: {lang}.{key}.{part} uses unknown {sorted(unknown)}")
                lowered = entry[part].lower()
                for word in FORBIDDEN_WORDS:
                    if word in lowered:
                        raise TemplateError(f"templates: {lang}.{key}.{part} contains {word!r}")


@lru_cache(maxsize=4)
def load_templates(path: str | None = None) -> dict:
    data = json.loads(Path(path or TEMPLATES_PATH).read_text(encoding="utf-8"))
    check_templates(data)
    return data


def templates_version() -> str:
    return str(load_templates().get("version", ""))


def format_date(d: date, lang: str) -> str:
    """``Selasa, 8 Desember 2026`` / ``Tuesday, 8 December 2026``."""
    if lang == "en":
        return f"{WEEKDAYS_EN[d.weekday()]}, {d.day} {MONTHS_EN[d.month - 1]} {d.year}"
    return format_date_id(d)


def format_time(t: time, lang: str) -> str:
    """``08.00`` (Indonesian style) / ``08:00``."""
    return f"{t.hour:02d}:{t.minute:02d}" if lang == "en" else format_time_id(t)


def render_text(kind: str, params: dict, lang: str) -> tuple[str, str]:
    """(title, body) of one reminder in ``lang`` ('id' or 'en'; anything else → 'id')."""
    lang = lang if lang in LANGUAGES else "id"
    session = date.fromisoformat(params["session_date"]) if params.get("session_date") else None
    key = "overdue_no_session" if kind == "overdue" and session is None else kind
    entry = load_templates()[lang][key]
    start = time.fromisoformat(params.get("session_start") or "08:00")
    values = {
        "nama_anak": params.get("child_name", ""),
        "nama_posyandu": params.get("posyandu_name", ""),
        "alamat": params.get("posyandu_address", ""),
        "tanggal": format_date(session, lang) if session else "",
        "jam": format_time(start, lang),
        "zona": zone_label(params["timezone"]) if params.get("timezone") else "",
        "vaksin": join_vaccine_names(params.get("doses") or (), lang),
    }
    return entry["title"].format(**values), entry["body"].format(**values)


def render_message(*, kind: str, params: dict, lang: str, reminder_id, child_id, posyandu_id) -> dict:
    """The FCM message stored on a delivery (see the module docstring)."""
    title, body = render_text(kind, params, lang)
    data = {
        "child_id": str(child_id),
        "reminder_id": str(reminder_id),
        "kind": kind,
        "screen": SCREENS[kind],
        "posyandu_id": str(posyandu_id),
        "session_date": params.get("session_date") or "",
    }
    return {"title": title, "body": body, "data": data, "language": lang if lang in LANGUAGES else "id"}
