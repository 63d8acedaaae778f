"""Growth-faltering early warning from the stored history: area lists, counts, one child.

Every entry point reads the children's stored measurements with ONE query (the columns the rules
need, the months the rules need, every active child of the area), turns them into numpy columns
and runs the vectorised core (``posyandu.core.growth.early_warning``); only the page's children
get a second, bounded query for their names, posyandu and last measurement. Nothing is stored:
a list is always what the rules say about the data as it is now (an edited or deleted measurement
changes it at once), for a calendar month ``M`` reading only visits up to the end of ``M``.

* ``area_list(scope, area, month, *, rule, cursor, limit, language)`` -- the cursor-paged list
  for cadres (a posyandu) and puskesmas/dinkes staff (larger areas);
* ``count_by_posyandu(scope_or_area, month) -> {posyandu_id: count}`` -- for reports, the
  portal and the command-centre feed ("early-warning count");
* ``area_counts(area, month)`` -- the counts endpoint's data (every posyandu of the area);
* ``child_warnings(scope, child_id, month, language)`` -- one child (parents: their own).

Children are placed by their current posyandu (a child who moved is listed where she is now,
with her whole history). Only active children; deleted measurements never count.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta, timezone

import numpy as np
import sqlalchemy as sa

from ..auth.scope import Scope
from ..children.models import Child
from ..core.growth import early_warning as ew
from ..core.growth.trend import completed_months
from ..db import day_number, fetch_columns, utcnow
from ..errors import InvalidInput, NotFound
from ..extensions import db
from ..measurements.models import Measurement
from ..regions.models import Posyandu
from ..reports.areas import Area, Month, parse_month

M = Measurement
_STUNTED = ("tbu.stunted", "tbu.severely_stunted")
LANGUAGES = ("id", "en")
_WIT = timezone(timedelta(hours=9))


@dataclass
class AreaWarnings:
    """The evaluated area for one month: columns, per-child keys, results, month flags."""
    month: Month
    rules: ew.EarlyWarningRules
    cols: ew.VisitColumns
    child_ids: np.ndarray        # child UUID per child code
    posyandu_ids: np.ndarray     # current posyandu per child code
    birth_dates: np.ndarray      # per child code (objects)
    measurement_ids: np.ndarray  # per row, set on each child's last row only (the one _items reads)
    results: ew.RowResults
    flags: ew.MonthFlags

    def listed_codes(self, rule: str | None = None) -> np.ndarray:
        listed = self.flags.listed
        if rule is not None:
            listed = listed & self.rule_fired(rule)
        return np.flatnonzero(listed)

    def rule_fired(self, rule: str) -> np.ndarray:
        cols = [k for k, res in enumerate(self.results.checks) if res.check.rule == rule]
        return self.flags.fired[:, cols].any(axis=1) if cols else np.zeros(len(self.child_ids), dtype=bool)


def _window(month: Month, rules: ew.EarlyWarningRules) -> tuple[date, date]:
    return month.shift(-rules.history_months()).first_day, month.last_day


def _history_query(child_condition, first: date, last: date):
    """The one statement: the rule columns of every live measurement of the selected active
    children in the window, ordered by child then date (what the core's columns need).

    Shaped for a cheap fetch of ~1M rows: plain numbers per row (the date as a day number,
    flags and the stunted category as 0/1); the child's id, posyandu and birth date only on her
    first row and the measurement id only on her last (the one ``_items`` reads), found with
    ``lag``/``lead`` over the statement's own order (one sort)."""
    # a weight or length the plausibility rules exclude (WHO flag, or the previous-visit check
    # unconfirmed: docs/implausible-values.md) counts as flagged here: it never fires a rule
    weight_bad = sa.func.coalesce(M.weight_implausible, sa.false())
    length_bad = sa.func.coalesce(M.length_implausible, sa.false())
    order = (M.child_id, M.measured_on, M.created_at, M.id)
    first_row = sa.func.lag(M.child_id).over(order_by=order).is_distinct_from(M.child_id)
    last_row = sa.func.lead(M.child_id).over(order_by=order).is_distinct_from(M.child_id)

    def flag(condition):
        return sa.case((condition, 1), else_=0)

    def on_first(column):
        return sa.case((first_row, column))

    return (sa.select(flag(first_row).label("first"), on_first(M.child_id).label("child_id"),
                      on_first(Child.posyandu_id).label("posyandu_id"), on_first(Child.birth_date).label("birth_date"),
                      sa.case((last_row, M.id)).label("measurement_id"), day_number(M.measured_on).label("day"),
                      M.age_days, M.weight_kg, M.clenhei, M.zlen,
                      flag(sa.or_(sa.func.coalesce(M.flen, sa.false()), length_bad)).label("flen"), M.zwei,
                      flag(sa.or_(sa.func.coalesce(M.fwei, sa.false()), weight_bad)).label("fwei"), M.zwfl,
                      flag(sa.or_(sa.func.coalesce(M.fwfl, sa.false()), weight_bad, length_bad)).label("fwfl"),
                      sa.case((M.cat_tbu.is_(None), None), (M.cat_tbu.in_(_STUNTED), 1), else_=0).label("stunted"))
            .join(Child, Child.id == M.child_id)
            .where(child_condition, Child.status == "active", M.deleted_at.is_(None),
                   M.measured_on >= first, M.measured_on <= last)
            .order_by(*order))


def evaluate(child_condition, month: Month, rules: ew.EarlyWarningRules | None = None) -> AreaWarnings:
    """Evaluate the children matching ``child_condition`` (SQL, on ``Child``) for ``month``."""
    rules = rules or ew.default_ews_rules()
    first, last = _window(month, rules)
    c = fetch_columns(db.session.connection(), _history_query(child_condition, first, last))
    new_child = np.array(c["first"], dtype=bool)
    first_row = np.flatnonzero(new_child)
    codes = np.cumsum(new_child) - 1
    keys = _objects(c["child_id"])[first_row]
    cols = ew.VisitColumns(
        child=np.asarray(codes, dtype=np.int64), day=np.array(c["day"], dtype=np.int64),
        age_days=_floats(c["age_days"]), weight_kg=_floats(c["weight_kg"]), clenhei=_floats(c["clenhei"]),
        haz=_floats(c["zlen"]), waz=_floats(c["zwei"]), whz=_floats(c["zwfl"]),
        flen=_floats(c["flen"]) != 0, fwei=_floats(c["fwei"]) != 0, fwfl=_floats(c["fwfl"]) != 0,
        haz_stunted=np.nan_to_num(_floats(c["stunted"]), nan=0.0) != 0)
    results = ew.evaluate_rows(cols, rules)
    flags = ew.flags_for_month(cols, results, month.index, rules, len(keys))
    return AreaWarnings(month, rules, cols, keys, _objects(c["posyandu_id"])[first_row],
                        _objects(c["birth_date"])[first_row], _objects(c["measurement_id"]), results, flags)


def _floats(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _objects(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _area_condition(area: Area):
    return Child.posyandu_id.in_(area.posyandu_ids())


def count_by_posyandu(scope_or_area: Scope | Area, month: Month | str) -> dict[int, int]:
    """Children on the early-warning list per posyandu (``{posyandu_id: count}``; posyandu with
    none are absent) for an area already resolved with ``resolve_area`` (scope checked there)
    or for everything a scope covers."""
    if isinstance(month, str):
        month = parse_month(month)
    if isinstance(scope_or_area, Area):
        condition = _area_condition(scope_or_area)
    else:
        condition = scope_or_area.child_clause()
    found = evaluate(condition, month)
    codes = found.listed_codes()
    ids, counts = np.unique(found.posyandu_ids[codes].astype(np.int64), return_counts=True) if len(codes) \
        else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    return {int(p): int(c) for p, c in zip(ids, counts)}


def area_counts(area: Area, month: Month) -> dict:
    """Per posyandu of the area (zeros included): children listed and children per rule."""
    found = evaluate(_area_condition(area), month)
    posyandu_rows = db.session.execute(
        sa.select(Posyandu.id, Posyandu.code, Posyandu.name).where(area.posyandu_condition())
        .order_by(Posyandu.code)).all()
    listed = found.flags.listed
    fired = {rule: found.rule_fired(rule) & listed for rule in ew.RULE_CODES}
    pids = found.posyandu_ids.astype(np.int64) if len(found.posyandu_ids) else np.zeros(0, np.int64)
    items = []
    for p in posyandu_rows:
        here = pids == p.id
        items.append({"posyandu": {"id": p.id, "code": p.code, "name": p.name},
                      "children": int((listed & here).sum()),
                      "by_rule": {rule: int((mask & here).sum()) for rule, mask in fired.items()}})
    return {"area": area.as_dict(), "month": str(month), "rules_version": found.rules.version,
            "children": int(listed.sum()),
            "by_rule": {rule: int(mask.sum()) for rule, mask in fired.items()},
            "posyandu": items}


# ---------------------------------------------------------------------------------------
# the list
# ---------------------------------------------------------------------------------------
def _encode_cursor(key: tuple) -> str:
    raw = json.dumps(list(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        code, neg_flags, neg_birth, child = json.loads(raw)
        return str(code), int(neg_flags), int(neg_birth), str(uuid.UUID(child))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("Invalid cursor", errors={"cursor": ["not a cursor returned by this endpoint"]}) from None


def _as_of(month: Month) -> date:
    """The day ages are given for: the month's last day, or today for the current month
    (in WIT, the zone that starts a month first, as ``parse_month`` decides "the future")."""
    today = utcnow().astimezone(_WIT).date()
    return min(today, month.last_day)


def area_list(scope: Scope, area: Area, month: Month, *, rule: str | None = None, cursor: str | None = None,
              limit: int = 50, language: str = "id") -> dict:
    """One page of the area's early-warning list: posyandu by code, then the children with the
    most rules fired, then the youngest (the first thousand days matter most)."""
    found = evaluate(_area_condition(area), month)
    codes = found.listed_codes(rule)
    posyandu = _posyandu_by_id({int(p) for p in found.posyandu_ids[codes]}) if len(codes) else {}
    n_fired = found.flags.fired.sum(axis=1)
    keyed = sorted((posyandu[int(found.posyandu_ids[c])]["code"], -int(n_fired[c]),
                    -found.birth_dates[c].toordinal(), str(found.child_ids[c]), int(c)) for c in codes)
    if cursor:
        after = _decode_cursor(cursor)
        keyed = [k for k in keyed if k[:4] > after]
    page, more = keyed[:limit], len(keyed) > limit
    items = _items(found, [k[4] for k in page], posyandu, language)
    listed = found.flags.listed
    return {
        "area": area.as_dict(), "month": str(month), "rules_version": found.rules.version,
        "evaluated_through": month.last_day,
        "children": int(listed.sum()),
        "by_rule": {r: int((found.rule_fired(r) & listed).sum()) for r in ew.RULE_CODES},
        "items": items,
        "next_cursor": _encode_cursor(page[-1][:4]) if more else None,
    }


def _posyandu_by_id(ids) -> dict:
    rows = db.session.execute(sa.select(Posyandu.id, Posyandu.code, Posyandu.name)
                              .where(Posyandu.id.in_(sorted(ids)))).all()
    return {r.id: {"id": r.id, "code": r.code, "name": r.name} for r in rows}


_LAST_COLUMNS = (M.id, M.measured_on, M.age_months, M.weight_kg, M.length_cm, M.measure_method, M.zlen, M.zwei,
                 M.zwfl, M.cat_tbu, M.cat_bbu, M.cat_bbtb, M.trend_status, M.is_2t)


def _items(found: AreaWarnings, codes: list[int], posyandu: dict, language: str) -> list[dict]:
    """The page's rows: one query for the children, one for their last measurements."""
    if not codes:
        return []
    child_ids = [found.child_ids[c] for c in codes]
    children = {r.id: r for r in db.session.execute(
        sa.select(Child.id, Child.name, Child.sex, Child.birth_date).where(Child.id.in_(child_ids))).all()}
    last_ids = [found.measurement_ids[found.flags.last_row[c]] for c in codes]
    last = {r.id: r for r in db.session.execute(sa.select(*_LAST_COLUMNS).where(M.id.in_(last_ids))).all()}
    as_of = _as_of(found.month)
    items = []
    for code, child_id, last_id in zip(codes, child_ids, last_ids):
        child = children[child_id]
        items.append({
            "child": {"id": child.id, "name": child.name, "sex": child.sex, "birth_date": child.birth_date,
                      "age_months": completed_months(child.birth_date, as_of)},
            "posyandu": posyandu[int(found.posyandu_ids[code])],
            "flags": [localized(f, language) for f in ew.explain(found.cols, found.results, found.flags, code,
                                                                  found.rules)],
            "last_measurement": _measurement_dict(last[last_id]),
        })
    return items


def _measurement_dict(row) -> dict:
    return {k: getattr(row, k) for k in ("id", "measured_on", "age_months", "weight_kg", "length_cm",
                                         "measure_method", "zlen", "zwei", "zwfl", "cat_tbu", "cat_bbu",
                                         "cat_bbtb", "trend_status", "is_2t")}


def localized(flag: dict, language: str) -> dict:
    """A flag with ``label``, ``message`` and ``advice`` in the caller's language (both kept)."""
    lang = language if language in LANGUAGES else "id"
    return {**flag, "label": flag[f"label_{lang}"], "message": flag[f"message_{lang}"],
            "advice": flag[f"advice_{lang}"]}


# ---------------------------------------------------------------------------------------
# one child
# ---------------------------------------------------------------------------------------
def child_warnings(scope: Scope, child_id, month: Month, language: str = "id") -> dict:
    """One child's early warnings for ``month`` (404 outside the caller's scope)."""
    child = db.session.execute(sa.select(Child.id, Child.status).where(Child.id == child_id,
                                                                       scope.child_clause())).first()
    if child is None:
        raise NotFound("No such child.")
    found = evaluate(Child.id == child_id, month)
    listed = bool(found.flags.listed[0]) if len(found.child_ids) else False
    flags = ew.explain(found.cols, found.results, found.flags, 0, found.rules) if listed else []
    return {
        "child_id": child.id, "month": str(month), "rules_version": found.rules.version,
        "evaluated_through": month.last_day, "listed": listed,
        "excluded_as_stunted": bool(found.flags.excluded[0]) if len(found.child_ids) else False,
        "flags": [localized(f, language) for f in flags],
    }


def caller_language(scope: Scope | None = None, accept_languages=None) -> str:
    """The caller's language: the account's preference, else ``Accept-Language``, else ``id``
    (the one mechanism of ``posyandu.i18n``; the arguments are kept for the callers)."""
    from ..i18n import current_language
    return current_language()


__all__ = ["AreaWarnings", "evaluate", "count_by_posyandu", "area_counts", "area_list", "child_warnings",
           "caller_language", "localized"]
