"""Parent-friendly vaccine names (Bahasa Indonesia / English) and phrase joining."""
from __future__ import annotations

from typing import Iterable

from .data import ScheduleData, default_schedule

__all__ = ["dose_name", "join_vaccine_names", "series_name"]


def _lang(lang: str) -> str:
    if lang not in ("id", "en"):
        raise ValueError(f"unsupported language {lang!r} (use 'id' or 'en')")
    return lang


def dose_name(code: str, lang: str = "id", schedule: ScheduleData | None = None) -> str:
    """E.g. ``dose_name("OPV1") == "Polio tetes 1"``, ``dose_name("MR1", "en")``."""
    sch = schedule or default_schedule()
    return sch.by_code[code.strip().upper()].name(_lang(lang))


def series_name(series: str, lang: str = "id", schedule: ScheduleData | None = None) -> str:
    """Antigen (series) name, e.g. ``series_name("Polio-IPV") == "Polio suntik"``."""
    sch = schedule or default_schedule()
    id_name, en_name = sch.series_names[series]
    return en_name if _lang(lang) == "en" else id_name


def join_vaccine_names(
    codes: Iterable[str],
    lang: str = "id",
    *,
    prefix: bool = False,
    schedule_order: bool = True,
    schedule: ScheduleData | None = None,
) -> str:
    """Join several doses into one phrase for a message.

    ``join_vaccine_names(["DPTHBHIB1", "OPV2", "PCV1", "RV1"])`` ->
    ``"DPT-HB-Hib 1, Polio tetes 2, PCV 1 dan Rotavirus 1"``; with ``lang="en"``
    the last separator is ``" and "`` (no serial comma).  Duplicates are dropped;
    by default the doses are put in schedule (CSV) order, else input order is kept.
    ``prefix=True`` prepends "imunisasi " / "immunization " (the §7 templates
    already contain "imunisasi {vaksin}", so the default is without).
    Returns "" for no codes.
    """
    sch = schedule or default_schedule()
    lang = _lang(lang)
    seen: dict[str, None] = {}
    for c in codes:
        seen.setdefault(c.strip().upper(), None)
    doses = [sch.by_code[c] for c in seen]
    if schedule_order:
        doses.sort(key=lambda d: d.index)
    names = [d.name(lang) for d in doses]
    if not names:
        return ""
    words = sch.phrases.get(lang, {})
    conj = words.get("and", "dan" if lang == "id" else "and")
    text = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conj} {names[-1]}"
    if prefix:
        text = f"{words.get('prefix', 'imunisasi')} {text}"
    return text
