"""Regions, puskesmas and posyandu: queries in the caller's scope, posyandu create/update, and
the CSV imports behind ``flask regions import-*``.

Operations flush and never commit (the request, or the CLI command, commits once).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit.log import audit, field_diff
from ..concurrent_writes import new_rows, replay_when_taken
from ..core import calendar as cal
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from . import codes
from .models import Posyandu, Puskesmas, PuskesmasDesa, Region
from .timezones import INDONESIAN_ZONES, zone_for_code

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
PUSKESMAS_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
POSYANDU_CODE = PUSKESMAS_CODE
#: Fields of a posyandu a supervisor may change (and the audit trail compares).
POSYANDU_EDITABLE = ("name", "address", "session_rule", "session_start", "session_end", "timezone")


# --- cursor pagination --------------------------------------------------------------------------

def encode_cursor(key) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("The cursor is not valid; start again without it.",
                           errors={"cursor": ["Not a cursor returned by this list."]}) from None


def _page(query, key_column, key_attr: str, *, limit: int | None, cursor: str | None):
    limit = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(key_column > after)
    rows = list(db.session.scalars(query.order_by(key_column).limit(limit + 1)))
    next_cursor = encode_cursor(getattr(rows[limit - 1], key_attr)) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _code_param(value: str, field_name: str, level: str | None = None) -> str:
    try:
        return codes.validate(value, level=level)
    except codes.CodeError as exc:
        raise InvalidInput(str(exc), errors={field_name: [str(exc)]}) from None


# --- regions (reference data) -------------------------------------------------------------------

def list_regions(*, level: str | None = None, parent: str | None = None, q: str | None = None,
                 limit: int | None = None, cursor: str | None = None) -> dict:
    query = sa.select(Region)
    if level:
        query = query.where(Region.level == level)
    if parent:
        query = query.where(Region.parent_code == _code_param(parent, "parent"))
    if q and q.strip():
        query = query.where(sa.func.lower(Region.name).like(_like(q), escape="\\"))
    return _page(query, Region.code, "code", limit=limit, cursor=cursor)


def get_region(code: str) -> Region:
    try:
        undotted = codes.normalise(code)
    except codes.CodeError:
        raise NotFound("No such region.") from None
    region = db.session.get(Region, undotted)
    if region is None:
        raise NotFound("No such region.")
    return region


def ancestors(region: Region) -> list[Region]:
    """Provinsi first, excluding the region itself."""
    found = []
    parent_code = region.parent_code
    while parent_code:
        parent = db.session.get(Region, parent_code)
        if parent is None:
            break
        found.append(parent)
        parent_code = parent.parent_code
    return list(reversed(found))


# --- puskesmas --------------------------------------------------------------------------------

def puskesmas_clause(scope):
    """SQL condition limiting puskesmas to the caller's area."""
    if scope.role == "admin":
        return sa.true()
    if scope.role == "dinkes":
        return Puskesmas.kabupaten_code == scope.kabupaten_code
    if scope.role == "puskesmas":
        return Puskesmas.id == scope.puskesmas_id
    if scope.role == "kader":
        return Puskesmas.id.in_(sa.select(Posyandu.puskesmas_id).where(scope.posyandu_clause(Posyandu.id)))
    return sa.false()


def list_puskesmas(scope, *, kabupaten: str | None = None, q: str | None = None,
                   limit: int | None = None, cursor: str | None = None) -> dict:
    query = sa.select(Puskesmas).where(puskesmas_clause(scope))
    if kabupaten:
        query = query.where(Puskesmas.kabupaten_code == _code_param(kabupaten, "kabupaten", "kabupaten"))
    if q and q.strip():
        query = query.where(sa.func.lower(Puskesmas.name).like(_like(q), escape="\\"))
    return _page(query, Puskesmas.code, "code", limit=limit, cursor=cursor)


def get_puskesmas(scope, puskesmas_id: int) -> Puskesmas:
    found = db.session.scalars(sa.select(Puskesmas).where(Puskesmas.id == puskesmas_id,
                                                          puskesmas_clause(scope))).first()
    if found is None:
        raise NotFound("No such puskesmas.")
    return found


def _link_active(on: date):
    return sa.and_(sa.or_(PuskesmasDesa.valid_from.is_(None), PuskesmasDesa.valid_from <= on),
                   sa.or_(PuskesmasDesa.valid_to.is_(None), PuskesmasDesa.valid_to >= on))


def working_area(puskesmas_id: int, on: date | None = None) -> list[str]:
    """Desa codes a puskesmas covers on a date (today by default)."""
    on = on or date.today()
    return list(db.session.scalars(
        sa.select(PuskesmasDesa.desa_code).where(PuskesmasDesa.puskesmas_id == puskesmas_id, _link_active(on))
        .order_by(PuskesmasDesa.desa_code)))


# --- posyandu ---------------------------------------------------------------------------------

def list_posyandu(scope, *, puskesmas_id: int | None = None, desa: str | None = None,
                  kecamatan: str | None = None, kabupaten: str | None = None, q: str | None = None,
                  active: bool | None = None, limit: int | None = None, cursor: str | None = None) -> dict:
    query = (sa.select(Posyandu).where(scope.posyandu_clause(Posyandu.id))
             .options(selectinload(Posyandu.desa), selectinload(Posyandu.puskesmas)))
    if puskesmas_id is not None:
        query = query.where(Posyandu.puskesmas_id == puskesmas_id)
    if desa:
        query = query.where(Posyandu.desa_code == _code_param(desa, "desa", "desa"))
    if kecamatan:
        query = query.where(Posyandu.desa_code.startswith(_code_param(kecamatan, "kecamatan", "kecamatan")))
    if kabupaten:
        query = query.where(Posyandu.kabupaten_code == _code_param(kabupaten, "kabupaten", "kabupaten"))
    if q and q.strip():
        query = query.where(sa.func.lower(Posyandu.name).like(_like(q), escape="\\"))
    if active is not None:
        query = query.where(Posyandu.is_active.is_(active))
    return _page(query, Posyandu.code, "code", limit=limit, cursor=cursor)


def get_posyandu(scope, posyandu_id: int) -> Posyandu:
    found = db.session.scalars(sa.select(Posyandu).where(Posyandu.id == posyandu_id,
                                                         scope.posyandu_clause(Posyandu.id))).first()
    if found is None:
        raise NotFound("No such posyandu.")
    return found


def _snapshot(p: Posyandu) -> dict:
    return {"code": p.code, "name": p.name, "address": p.address, "desa_code": p.desa_code,
            "puskesmas_id": p.puskesmas_id, "session_rule": p.session_rule,
            "session_start": p.session_start.strftime("%H:%M") if p.session_start else None,
            "session_end": p.session_end.strftime("%H:%M") if p.session_end else None,
            "timezone": p.timezone, "timezone_overridden": bool(p.timezone_overridden)}


def check_posyandu_values(values: dict, errors: dict) -> dict:
    """Validate and normalise the schedule/time-zone fields present in ``values`` (in place);
    problems go into ``errors`` as ``{field: [message]}``."""
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name:
            errors.setdefault("name", []).append("The name is required.")
        elif len(name) > 120:
            errors.setdefault("name", []).append("At most 120 characters.")
        values["name"] = name
    if "address" in values and values["address"] is not None:
        values["address"] = values["address"].strip() or None
        if values["address"] and len(values["address"]) > 255:
            errors.setdefault("address", []).append("At most 255 characters.")
    if "session_rule" in values:
        try:
            values["session_rule"] = cal.normalise_rule(values["session_rule"])
        except cal.RuleError as exc:
            errors.setdefault("session_rule", []).append(str(exc))
    for key in ("session_start", "session_end"):
        if key in values and not isinstance(values[key], time):
            try:
                values[key] = cal.parse_local_time(values[key])
            except ValueError as exc:
                errors.setdefault(key, []).append(str(exc))
    if "timezone" in values and values["timezone"] is not None:
        if values["timezone"] not in INDONESIAN_ZONES:
            errors.setdefault("timezone", []).append(
                "Use one of the Indonesian zones: " + ", ".join(INDONESIAN_ZONES) + " (or null to derive it).")
    return values


def _check_times(start: time, end: time, errors: dict) -> None:
    if isinstance(start, time) and isinstance(end, time) and not start < end:
        errors.setdefault("session_end", []).append("The session must end after it starts.")


def _apply_timezone(p: Posyandu, requested: str | None) -> None:
    """``None`` → derived from the province; a zone equal to the derived one is not an override."""
    derived = zone_for_code(p.desa_code)
    if requested is None or requested == derived:
        p.timezone, p.timezone_overridden = derived, False
    else:
        p.timezone, p.timezone_overridden = requested, True


def _resolve_place(desa_code_raw, puskesmas: Puskesmas | None, errors: dict, *,
                   desa_field: str = "desa_code", on: date | None = None) -> Region | None:
    try:
        desa_code = codes.validate(desa_code_raw or "", level="desa")
    except codes.CodeError as exc:
        errors.setdefault(desa_field, []).append(str(exc))
        return None
    desa = db.session.get(Region, desa_code)
    if desa is None or desa.level != "desa":
        errors.setdefault(desa_field, []).append(f"Unknown desa/kelurahan {codes.dotted(desa_code)}.")
        return None
    if puskesmas is not None and desa_code not in working_area(puskesmas.id, on):
        errors.setdefault(desa_field, []).append(
            f"Desa {codes.dotted(desa_code)} is not in the working area of puskesmas {puskesmas.code}.")
        return None
    return desa


@replay_when_taken
def create_posyandu(scope, data: dict) -> tuple[Posyandu, bool]:
    """Create a posyandu (supervisors only). A retry with the same code and the same values
    returns the existing row (``created`` False); the same code with other values is a 409."""
    values = dict(data)
    values.setdefault("session_rule", "nth_weekday:2:TUE")
    values.setdefault("session_start", time(8, 0))
    values.setdefault("session_end", time(11, 0))
    values.setdefault("timezone", None)
    errors: dict = {}
    code = (values.get("code") or "").strip()
    if not POSYANDU_CODE.match(code):
        errors.setdefault("code", []).append("1–32 letters, digits, '.', '_' or '-'.")
    check_posyandu_values(values, errors)
    _check_times(values["session_start"], values["session_end"], errors)
    puskesmas = db.session.scalars(sa.select(Puskesmas).where(Puskesmas.id == values.get("puskesmas_id"),
                                                              puskesmas_clause(scope))).first()
    if puskesmas is None:
        errors.setdefault("puskesmas_id", []).append("Unknown puskesmas (or not in your area).")
    desa = _resolve_place(values.get("desa_code"), puskesmas, errors)
    if errors:
        raise InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)

    existing = db.session.scalars(sa.select(Posyandu).where(Posyandu.code == code)).first()
    candidate = Posyandu(code=code, name=values["name"], address=values.get("address"), desa_code=desa.code,
                         puskesmas_id=puskesmas.id, kabupaten_code=desa.code[:4],
                         session_rule=values["session_rule"], session_start=values["session_start"],
                         session_end=values["session_end"], is_active=True)
    _apply_timezone(candidate, values["timezone"])
    if existing is not None:
        if scope.covers_posyandu(existing.id) and _snapshot(existing) == _snapshot(candidate):
            return existing, False
        raise Conflict(f"A posyandu with code {code} already exists.", errors={"code": ["Already in use."]})
    with new_rows(db.session):  # the same code created meanwhile: replayed as a retry
        db.session.add(candidate)
    audit("create", "posyandu", candidate.id, changes=field_diff({}, _snapshot(candidate)),
          posyandu_id=candidate.id)
    return candidate, True


def update_posyandu(scope, posyandu_id: int, data: dict) -> Posyandu:
    """Change name, address, schedule and time-zone override. Kader may not (403 after the 404
    check, so a posyandu outside the caller's area stays invisible)."""
    p = get_posyandu(scope, posyandu_id)
    if scope.role not in ("admin", "dinkes", "puskesmas"):
        raise Forbidden("Only puskesmas staff, dinkes or an admin may change a posyandu.")
    values = {k: v for k, v in data.items() if k in POSYANDU_EDITABLE}
    errors: dict = {}
    check_posyandu_values(values, errors)
    _check_times(values.get("session_start", p.session_start), values.get("session_end", p.session_end), errors)
    if errors:
        raise InvalidInput("Some fields are invalid: " + ", ".join(sorted(errors)), errors=errors)
    before = _snapshot(p)
    for key in ("name", "address", "session_rule", "session_start", "session_end"):
        if key in values:
            setattr(p, key, values[key])
    if "timezone" in values:
        _apply_timezone(p, values["timezone"])
    after = _snapshot(p)
    changes = field_diff(before, after)
    if changes:
        db.session.flush()
        audit("update", "posyandu", p.id, changes=changes, posyandu_id=p.id)
    return p


# --- CSV imports ------------------------------------------------------------------------------

@dataclass
class ImportReport:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def bad(self, row: int, message: str) -> None:
        self.errors.append((row, message))

    def summary(self) -> str:
        return (f"{self.kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.errors)} bad row(s)")


def _cell(row: dict, key: str) -> str:
    value = row.get(key)
    return value.strip() if isinstance(value, str) else ""


def import_regions(rows: Iterable[tuple[int, dict]]) -> ImportReport:
    """Upsert regions from ``(row_number, {"code", "name", "bps_code"})``; level and parent come
    from the code. A parent must exist already or be a good row of the same file."""
    report = ImportReport("regions")
    parsed: list[tuple[int, str, str, str | None]] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        try:
            code = codes.validate(_cell(row, "code"))
        except codes.CodeError as exc:
            report.bad(number, f"code: {exc}")
            continue
        name = _cell(row, "name")
        bps = _cell(row, "bps_code") or None
        if not name:
            report.bad(number, "name: the name is required")
            continue
        if len(name) > 120:
            report.bad(number, "name: at most 120 characters")
            continue
        if bps is not None and (not bps.isdigit() or len(bps) > 12):
            report.bad(number, "bps_code: digits only, at most 12")
            continue
        if code in seen:
            report.bad(number, f"code: {codes.dotted(code)} already given in row {seen[code]}")
            continue
        seen[code] = number
        parsed.append((number, code, name, bps))

    wanted = {c for _, c, _, _ in parsed} | {codes.parent_of(c) for _, c, _, _ in parsed if codes.parent_of(c)}
    existing: dict[str, tuple] = {}
    wanted_list = sorted(wanted)
    for i in range(0, len(wanted_list), 500):
        chunk = wanted_list[i:i + 500]
        for r in db.session.execute(sa.select(Region.code, Region.name, Region.bps_code)
                                    .where(Region.code.in_(chunk))):
            existing[r.code] = (r.name, r.bps_code)

    known = set(existing)
    inserts, updates = [], []
    for number, code, name, bps in sorted(parsed, key=lambda item: (len(item[1]), item[0])):
        parent = codes.parent_of(code)
        if parent is not None and parent not in known:
            report.bad(number, f"code: parent {codes.dotted(parent)} is neither in the database nor a good row "
                               "of this file")
            continue
        known.add(code)
        if code not in existing:
            inserts.append({"code": code, "level": codes.level_of(code), "name": name, "parent_code": parent,
                            "bps_code": bps})
        elif existing[code] != (name, bps):
            updates.append({"code": code, "name": name, "bps_code": bps})
        else:
            report.unchanged += 1
    for i in range(0, len(inserts), 1000):  # sorted by level: parents are inserted first
        db.session.execute(sa.insert(Region), inserts[i:i + 1000])
    if updates:
        db.session.execute(sa.update(Region), updates)
    db.session.flush()
    report.created, report.updated = len(inserts), len(updates)
    report.errors.sort()
    return report


def import_puskesmas(rows: Iterable[tuple[int, dict]], *, today: date | None = None) -> ImportReport:
    """Upsert puskesmas from ``(row_number, {"code", "name", "kecamatan_code", "desa_codes"})``;
    ``desa_codes`` separated by ``;``. The working area becomes exactly the listed desa: new
    links start today (or open-ended for a new puskesmas), dropped links end yesterday."""
    today = today or date.today()
    report = ImportReport("puskesmas")
    by_code = {p.code: p for p in db.session.scalars(sa.select(Puskesmas))}
    seen: dict[str, int] = {}
    for number, row in rows:
        code, name = _cell(row, "code"), _cell(row, "name")
        problems = []
        if not PUSKESMAS_CODE.match(code):
            problems.append("code: 1–32 letters, digits, '.', '_' or '-'")
        elif code in seen:
            problems.append(f"code: {code} already given in row {seen[code]}")
        if not name:
            problems.append("name: the name is required")
        elif len(name) > 120:
            problems.append("name: at most 120 characters")
        kecamatan = None
        try:
            kec_code = codes.validate(_cell(row, "kecamatan_code"), level="kecamatan")
            kecamatan = db.session.get(Region, kec_code)
            if kecamatan is None:
                problems.append(f"kecamatan_code: unknown kecamatan {codes.dotted(kec_code)}")
        except codes.CodeError as exc:
            problems.append(f"kecamatan_code: {exc}")
        desa_codes: list[str] = []
        raw_desa = [d for d in _cell(row, "desa_codes").split(";") if d.strip()]
        if not raw_desa:
            problems.append("desa_codes: list at least one desa (codes separated by ;)")
        for raw in raw_desa:
            try:
                d = codes.validate(raw, level="desa")
            except codes.CodeError as exc:
                problems.append(f"desa_codes: {exc}")
                continue
            if db.session.get(Region, d) is None:
                problems.append(f"desa_codes: unknown desa {codes.dotted(d)}")
            elif kecamatan is not None and d[:4] != kecamatan.code[:4]:
                problems.append(f"desa_codes: {codes.dotted(d)} is outside kabupaten {codes.dotted(kecamatan.code[:4])}")
            elif d not in desa_codes:
                desa_codes.append(d)
        if problems:
            report.bad(number, "; ".join(problems))
            continue
        seen[code] = number
        p = by_code.get(code)
        if p is None:
            p = Puskesmas(code=code, name=name, kecamatan_code=kecamatan.code, kabupaten_code=kecamatan.code[:4])
            db.session.add(p)
            db.session.flush()
            for d in desa_codes:
                db.session.add(PuskesmasDesa(puskesmas_id=p.id, desa_code=d))
            db.session.flush()
            by_code[code] = p
            audit("create", "puskesmas", p.id, changes=field_diff({}, {"code": code, "name": name,
                                                                      "kecamatan_code": kecamatan.code,
                                                                      "desa_codes": ";".join(desa_codes)}))
            report.created += 1
            continue
        before = {"name": p.name, "kecamatan_code": p.kecamatan_code,
                  "desa_codes": ";".join(sorted(working_area(p.id, today)))}
        p.name, p.kecamatan_code, p.kabupaten_code = name, kecamatan.code, kecamatan.code[:4]
        _sync_links(p, desa_codes, today)
        after = {"name": p.name, "kecamatan_code": p.kecamatan_code, "desa_codes": ";".join(sorted(desa_codes))}
        changes = field_diff(before, after)
        if changes:
            db.session.flush()
            audit("update", "puskesmas", p.id, changes=changes)
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()
    report.errors.sort()
    return report


def _sync_links(p: Puskesmas, desa_codes: list[str], today: date) -> None:
    links = db.session.scalars(sa.select(PuskesmasDesa).where(PuskesmasDesa.puskesmas_id == p.id)).all()
    active = {link.desa_code: link for link in links
              if (link.valid_from is None or link.valid_from <= today) and (link.valid_to is None or link.valid_to >= today)}
    for code, link in active.items():
        if code not in desa_codes:
            if link.valid_from == today:
                db.session.delete(link)  # added and dropped on the same day: never in force
            else:
                link.valid_to = today - timedelta(days=1)
    for code in desa_codes:
        if code in active:
            continue
        reopened = next((link for link in links if link.desa_code == code and link.valid_from == today), None)
        if reopened is not None:
            reopened.valid_to = None
        else:
            db.session.add(PuskesmasDesa(puskesmas_id=p.id, desa_code=code, valid_from=today))


def import_posyandu(rows: Iterable[tuple[int, dict]]) -> ImportReport:
    """Upsert posyandu from ``(row_number, {"code", "name", "desa_code", "puskesmas_code",
    "session_rule", "session_start", "session_end", "timezone"?})``. An empty ``timezone``
    means derived from the province."""
    report = ImportReport("posyandu")
    puskesmas_by_code = {p.code: p for p in db.session.scalars(sa.select(Puskesmas))}
    by_code = {p.code: p for p in db.session.scalars(sa.select(Posyandu))}
    seen: dict[str, int] = {}
    for number, row in rows:
        code = _cell(row, "code")
        errors: dict = {}
        if not POSYANDU_CODE.match(code):
            errors.setdefault("code", []).append("1–32 letters, digits, '.', '_' or '-'")
        elif code in seen:
            errors.setdefault("code", []).append(f"{code} already given in row {seen[code]}")
        values = {"name": _cell(row, "name"), "session_rule": _cell(row, "session_rule"),
                  "session_start": _cell(row, "session_start"), "session_end": _cell(row, "session_end"),
                  "timezone": _cell(row, "timezone") or None}
        check_posyandu_values(values, errors)
        _check_times(values["session_start"], values["session_end"], errors)
        puskesmas = puskesmas_by_code.get(_cell(row, "puskesmas_code"))
        if puskesmas is None:
            errors.setdefault("puskesmas_code", []).append(f"unknown puskesmas {_cell(row, 'puskesmas_code')!r}")
        desa = _resolve_place(_cell(row, "desa_code"), puskesmas, errors)
        if errors:
            report.bad(number, "; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(errors.items())))
            continue
        seen[code] = number
        p = by_code.get(code)
        created = p is None
        if created:
            p = Posyandu(code=code, is_active=True)
            db.session.add(p)
        before = {} if created else _snapshot(p)
        p.name, p.desa_code, p.puskesmas_id, p.kabupaten_code = values["name"], desa.code, puskesmas.id, desa.code[:4]
        p.session_rule, p.session_start, p.session_end = (values["session_rule"], values["session_start"],
                                                          values["session_end"])
        _apply_timezone(p, values["timezone"])
        after = _snapshot(p)
        if created:
            db.session.flush()
            by_code[code] = p
            audit("create", "posyandu", p.id, changes=field_diff({}, after), posyandu_id=p.id)
            report.created += 1
            continue
        changes = field_diff(before, after)
        if changes:
            db.session.flush()
            audit("update", "posyandu", p.id, changes=changes, posyandu_id=p.id)
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()
    report.errors.sort()
    return report
