"""Likely duplicate children and tolerant name search.

Newborns have no NIK yet, so the same child is easily registered twice ("Bayi Ny. Siti" at birth,
"Ahmad Fauzi" a month later; "Achmad" at one posyandu, "Ahmad" at the next). Both functions follow
the same pattern: **SQL narrows** to a small, scope-limited candidate set with indexed columns;
**Python ranks** that set with rapidfuzz on the spelling-normalised name keys
(:func:`posyandu.children.names.name_key`).

Duplicate rule (:func:`duplicate_candidates`), for a child X, a candidate Y must be:

- active, another record, in the caller's scope and living in the **same desa** as X;
- born within **7 days** of X, or on X's birth date with day and month swapped;
- of the same sex, unless the names are practically identical (name score ≥ 95: a sex typo);
- **name**: token-set similarity of the name keys ≥ 85, or one of the two is a placeholder
  newborn name ("Bayi Ny. …", "By. Ny. …") — a placeholder only counts when the mothers match;
- **mother**: when both records have a mother's name, similarity ≥ 85; when either lacks one,
  the child names must score ≥ 92 and the birth dates be equal.

The score (0–100) weights name 0.5, mother 0.3 and birth date 0.2. Twins (same mother and birth
date) are told apart by their names (Hasan/Husein score 60).
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from rapidfuzz import fuzz

from ..extensions import db
from .models import Child
from .names import name_key

NAME_THRESHOLD = 85
MOTHER_THRESHOLD = 85
NO_MOTHER_NAME_THRESHOLD = 92
SAME_NAME_THRESHOLD = 95
BIRTH_WINDOW_DAYS = 7
SEARCH_THRESHOLD = 70
SEARCH_CANDIDATE_CAP = 2000
_PLACEHOLDER_PREFIXES = ("bayi ", "by ny", "by ")


def is_placeholder(key: str) -> bool:
    return key.startswith(_PLACEHOLDER_PREFIXES) or key in ("bayi", "by")


def _swapped(day_month: date) -> date | None:
    if day_month.day > 12 or day_month.day == day_month.month:
        return None
    try:
        return day_month.replace(day=day_month.month, month=day_month.day)
    except ValueError:
        return None


def score_pair(x: Child, y: Child) -> tuple[float, list[str]] | None:
    """(score, reasons) when ``y`` looks like the same child as ``x``; ``None`` otherwise."""
    days = abs((x.birth_date - y.birth_date).days)
    if days == 0:
        date_score, date_reason = 100.0, "same_birth_date"
    elif days <= BIRTH_WINDOW_DAYS:
        date_score, date_reason = 100.0 - 4 * days, "birth_date_within_7_days"
    elif _swapped(x.birth_date) == y.birth_date:
        date_score, date_reason = 80.0, "birth_date_day_month_swapped"
    else:
        return None
    x_key, y_key = x.name_key or name_key(x.name), y.name_key or name_key(y.name)
    name_score = fuzz.token_set_ratio(x_key, y_key)
    placeholder = is_placeholder(x_key) or is_placeholder(y_key)
    x_mother, y_mother = x.mother_name_key or "", y.mother_name_key or ""
    mother_score = fuzz.token_set_ratio(x_mother, y_mother) if x_mother and y_mother else None
    reasons = [date_reason]
    if x.sex != y.sex:
        if name_score < SAME_NAME_THRESHOLD:
            return None
        reasons.append("different_sex")
    if mother_score is None:
        if placeholder or name_score < NO_MOTHER_NAME_THRESHOLD or days != 0:
            return None
        mother_component = 50.0
    else:
        if mother_score < MOTHER_THRESHOLD:
            return None
        reasons.append("same_mother_name" if mother_score == 100 else "similar_mother_name")
        mother_component = mother_score
    if name_score >= NAME_THRESHOLD:
        reasons.append("same_name" if name_score == 100 else "similar_name")
        name_component = name_score
    elif placeholder:
        reasons.append("placeholder_newborn_name")
        name_component = 80.0
    else:
        return None
    score = 0.5 * name_component + 0.3 * mother_component + 0.2 * date_score
    return round(score, 1), reasons


def _candidate(child: Child, score: float, reasons: list[str]) -> dict:
    return {"id": str(child.id), "name": child.name, "sex": child.sex, "birth_date": child.birth_date.isoformat(),
            "mother_name": child.mother_name, "posyandu_id": child.posyandu_id, "score": score,
            "reasons": reasons}


def duplicate_candidates(scope, child: Child, limit: int = 10) -> list[dict]:
    """Active records in the caller's scope that look like ``child`` (best first)."""
    window = timedelta(days=BIRTH_WINDOW_DAYS)
    dates = sa.and_(Child.birth_date >= child.birth_date - window, Child.birth_date <= child.birth_date + window)
    swapped = _swapped(child.birth_date)
    if swapped is not None:
        dates = sa.or_(dates, Child.birth_date == swapped)
    query = (sa.select(Child)
             .where(Child.desa_code == child.desa_code, Child.status == "active", Child.id != child.id,
                    dates, scope.child_clause())
             .limit(500))
    found = []
    for other in db.session.scalars(query):
        scored = score_pair(child, other)
        if scored is not None:
            found.append((scored[0], str(other.id), other, scored[1]))
    found.sort(key=lambda item: (-item[0], item[1]))
    return [_candidate(other, score, reasons) for score, _, other, reasons in found[:limit]]


def same_nik_candidates(scope, child: Child) -> list[dict]:
    """Other active records in scope carrying the same NIK (compared by HMAC)."""
    if not child.nik_hmac:
        return []
    query = sa.select(Child).where(Child.nik_hmac == child.nik_hmac, Child.id != child.id,
                                   Child.status == "active", scope.child_clause()).limit(10)
    return [_candidate(other, 100.0, ["same_nik"]) for other in db.session.scalars(query)]


def name_prefix_clause(key: str):
    """SQL: some word of the stored name key starts like some word of ``key`` (two letters).

    Cheap narrowing before ranking: a spelling variant almost always keeps the first two
    letters of at least one word (Achmad/Ahmad share none, but Fauzi/Fausi do)."""
    conditions = []
    for token in set(key.split()):
        prefix = token[:2]
        conditions.append(Child.name_key.like(f"{prefix}%"))
        conditions.append(Child.name_key.like(f"% {prefix}%"))
    return sa.or_(*conditions) if conditions else sa.false()


def rank_by_name(children, key: str, mother_key: str | None = None,
                 threshold: float = SEARCH_THRESHOLD) -> list[tuple[Child, float]]:
    """Rank already-narrowed children by tolerant similarity of their name (and mother's name)."""
    ranked = []
    for child in children:
        score = float(fuzz.WRatio(key, child.name_key or "")) if key else 100.0
        if mother_key:
            mother = float(fuzz.WRatio(mother_key, child.mother_name_key or "")) if child.mother_name_key else 0.0
            score = 0.7 * score + 0.3 * mother if key else mother
        if score >= threshold:
            ranked.append((child, round(score, 1)))
    ranked.sort(key=lambda item: (-item[1], item[0].name_key or "", str(item[0].id)))
    return ranked
