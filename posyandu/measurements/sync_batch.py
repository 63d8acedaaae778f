"""Set-based ``/sync/push`` for measurements (``Adapter.apply_batch``).

The per-record path (``posyandu.sync.push._apply_one`` -> ``operations.record_measurement`` /
``update_measurement`` / ``delete_measurement``) costs a SAVEPOINT, a child load, a history
query, an ORM INSERT, an audit INSERT and a trend recompute per record. Here the whole batch is
decided in Python first and then written with a handful of statements:

1. validate every record with the same schemas (``MeasurementCreate`` / ``MeasurementUpdate``);
2. prefetch, for the whole batch: the measurement rows with the pushed ids (with their child and
   whether the caller sees them), the pushed children through the caller's scope, and the live
   history of every child that gets a write;
3. decide each record in the order sent, with the same rules and helpers as the single path
   (``_check_against_child``, ``_edited_values``, ``_check_edit``, ``row_has_content``,
   ``_entered``): ``invalid`` / ``duplicate`` / ``conflict`` / ``applied``;
4. compute: z-scores and categories per new or edited visit with the scalar engine
   (``assessment.visit_values``), then each child's trend ONCE over its history and all its new
   rows (``assessment.trend_values``). A child whose records in the batch could change each
   other's receipts (edits, deletes, or new visits sent out of date order) is replayed record by
   record instead, so every receipt is what the per-record path would have answered;
5. write: one INSERT of the new rows, one of the audit events, executemany UPDATEs of edited
   rows, deleted rows and the trend columns of other rows that changed; note sync changes;
6. read the receipts' records back in one query (the same serialisation as ``record_by_id``).

Everything that can make a record invalid is decided before anything is written, so a bad
record never rejects the batch. ``apply_batch`` returns ``None`` (the caller then applies the
records one by one) when it cannot decide the batch on its own: the same id twice in one batch,
a caller who may not write, or a write that fails (e.g. a concurrent insert of the same id).
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import marshmallow as ma
import sqlalchemy as sa
from flask import g, has_request_context

from ..audit.log import field_diff
from ..audit.models import AuditEvent
from ..concurrent_writes import lock_children
from ..db import utcnow
from ..reports.summary import refresh_child_months
from ..errors import InvalidInput, flatten_messages
from ..extensions import db
from ..sync.changes import record_change
from . import assessment
from . import operations as ops
from .schemas import MeasurementCreate
from .sync_records import clean as _clean, row_has_content, update_data as _update_data

_T = ops._T
_C = ops._C
#: Changes that move a visit in its child's weighing sequence (single path: ``update_measurement``).
_TREND_INPUTS = ops.TREND_INPUTS
_TREND_KEYS = assessment.HISTORY_COLUMNS

_UPDATE_EDITED = (sa.update(_T).where(_T.c.id == sa.bindparam("b_id")).values(
    {c: sa.bindparam("b_" + c) for c in (*ops.ENTERED_FIELDS, *assessment.COMPUTED_COLUMNS, "version",
                                          "client_updated_at", "updated_by_id", "updated_at", "computed_at")}))
_UPDATE_DELETED = (sa.update(_T).where(_T.c.id == sa.bindparam("b_id")).values(
    {c: sa.bindparam("b_" + c) for c in ("deleted_at", "version", "updated_by_id", "updated_at")}))


class _Row(dict):
    """A measurement row in memory (column -> value)."""


def apply_batch(scope, items: list[dict]) -> list[dict] | None:
    """Decide and apply a batch of measurement records; see the module docstring.

    ``items``: in the order to apply, each ``{"id", "op", "base_version", "data"}`` as prepared
    by ``sync.push`` (``data`` carries ``id`` and ``client_updated_at``). Returns one result per
    item, ``{"status", "version"?, "record"?, "warnings"?, "errors"?, "detail"?}``, or ``None``.
    """
    if not items or scope.is_parent or not scope.can_write_children:
        return None
    try:
        ids = [uuid.UUID(str(item["id"])) for item in items]
    except (ValueError, TypeError, KeyError):
        return None
    if len(set(ids)) != len(ids):
        return None
    session = db.session

    # 1. schemas of new records (edits are loaded once their row is known)
    loaded: list[dict | None] = [None] * len(items)
    results: list[dict | None] = [None] * len(items)
    create_schema = MeasurementCreate()
    for pos, item in enumerate(items):
        if item.get("op", "upsert") != "delete" and item.get("base_version") is None:
            try:
                loaded[pos] = create_schema.load(_clean(item["data"]))
            except ma.ValidationError as invalid:
                results[pos] = _invalid(flatten_messages(invalid.messages))

    # 2. prefetch: rows with these ids (with their child, and what the caller sees), pushed children;
    # first the write lock of every child the batch may write (concurrent_writes.lock_children),
    # taken before anything is read that the batch computes from
    lock_children(session, {d["child_id"] for d in loaded if d is not None} | set(session.scalars(
        sa.select(_T.c.child_id).where(_T.c.id.in_(ids))).all()))
    existing = _existing_rows(session, scope, ids)
    children = {c.id: c for c in (ops._ChildInfo(*r) for r in session.execute(
        sa.select(*ops._CHILD_COLUMNS).where(
            _C.c.id.in_({d["child_id"] for d in loaded if d is not None}),
            scope.child_clause(ops._CHILD_TABLE_COLUMNS))).all())} if any(loaded) else {}
    for row in existing.values():
        if row["child_visible"] and row["child_id"] not in children:
            children[row["child_id"]] = ops._ChildInfo(row["child_id"], row["child_posyandu_id"], row["sex"],
                                                       row["birth_date"], row["birth_weight_kg"])

    # 3. decide each record in order; writes become events of their child
    events: dict[uuid.UUID, list[tuple]] = {}   # child id -> [(kind, pos, row id, payload)]
    for pos, item in enumerate(items):
        if results[pos] is not None:
            continue
        mid, data, op = ids[pos], item["data"], item.get("op", "upsert")
        row = existing.get(mid)
        if op == "delete":
            results[pos] = _decide_delete(row, item.get("base_version"), events, pos)
        elif item.get("base_version") is None:
            results[pos] = _decide_create(scope, loaded[pos], row, children, data, events, pos, row_has_content)
        else:
            results[pos] = _decide_update(scope, row, data, item["base_version"], events, pos,
                                          _update_data, row_has_content)

    # 4. compute per child, 5. write
    now = utcnow()
    written = _compute_and_write(session, scope, events, children, existing, items, loaded, ids, results, now)
    if written is None:
        return None
    snapshots = written

    # 6. the receipts' records, as record_by_id serialises them (live rows only)
    wanted = {ids[pos] for pos, r in enumerate(results) if r.pop("_record", False)}
    current = _records(session, wanted)
    out = []
    for pos, result in enumerate(results):
        mid = ids[pos]
        warnings_of = result.pop("_warnings", None)
        if mid in wanted and mid in current:
            record = current[mid]
            snap = snapshots.get(pos)
            if snap is not None:
                record = {**record, **{k: snap[k] for k in _TREND_KEYS}}
            result["version"] = record.get("version")
            result["record"] = record
        if warnings_of is not None:
            snap = snapshots.get(pos)
            warnings = snap["warnings"] if snap is not None else warnings_of()
            result["warnings"] = list(warnings or []) or None
        out.append({k: v for k, v in result.items() if v is not None})
    return out


# ---------------------------------------------------------------------------------------
# decisions (same rules, same order of checks as the single path)
# ---------------------------------------------------------------------------------------
def _invalid(errors: dict) -> dict:
    return {"status": "invalid", "errors": errors}


def _not_found(detail: str) -> dict:
    return _invalid({"id": [detail]})


def _decide_create(scope, values, row, children, data, events, pos, row_has_content) -> dict:
    child = children.get(values["child_id"])
    if child is None:
        return _invalid({"child_id": ["No such child."]})
    if row is not None:
        if row["deleted_at"] is None and row["child_id"] == values["child_id"] \
                and ops._entered(row) == ops._entered(values):
            _touch(events, row, pos)
            return {"status": "duplicate", "_record": True}
        if not row["child_visible"]:  # another area's row: nothing of it
            return {"status": "conflict", "detail": "This id is already used by another record; generate a new id."}
        detail = ("A measurement with this id exists with different values" if row["deleted_at"] is None
                  else "This measurement was deleted")
        return _conflict_or_duplicate(row, data, detail, events, pos, row_has_content)
    entered = ops._entered(values)
    try:
        ops._check_against_child(scope, entered, child)
    except InvalidInput as invalid:
        return _invalid(invalid.errors)
    events.setdefault(child.id, []).append(("create", pos, values["id"], entered))
    return {"status": "applied", "_record": True, "_warnings": True}


def _decide_update(scope, row, data, base_version, events, pos, update_data, row_has_content) -> dict:
    if row is None or not row["child_visible"]:  # get_measurement
        return _not_found("No such measurement.")
    try:
        loaded = update_data(data, row["child_id"])
    except ma.ValidationError as invalid:
        return _invalid(flatten_messages(invalid.messages))
    except InvalidInput as invalid:
        return _invalid(invalid.errors)
    if not row["child_visible"]:  # _load_for_write: the child in scope
        return _not_found("No such measurement.")
    if row["deleted_at"] is not None:
        return _conflict_or_duplicate(row, data, "This measurement was deleted", events, pos, row_has_content)
    if base_version is not None and base_version != row["version"]:
        return _conflict_or_duplicate(row, data, _stale(row, base_version), events, pos, row_has_content)
    try:
        after, changes = ops._edited_values(ops._entered(row), loaded)
        if changes:
            ops._check_edit(scope, after, changes, _child_of(row))
    except InvalidInput as invalid:
        return _invalid(invalid.errors)
    if not changes:
        _touch(events, row, pos)
        return {"status": "applied", "_record": True, "_warnings": True}
    events.setdefault(row["child_id"], []).append(("update", pos, row["id"], (after, changes, loaded)))
    return {"status": "applied", "_record": True, "_warnings": True}


def _decide_delete(row, base_version, events, pos) -> dict:
    if row is None or not row["child_visible"]:
        return _not_found("No such measurement.")
    if row["deleted_at"] is not None:
        return {"status": "duplicate"}  # a retried delete
    if base_version is not None and base_version != row["version"]:
        _touch(events, row, pos)
        return {"status": "conflict", "detail": _stale(row, base_version), "_record": True}
    events.setdefault(row["child_id"], []).append(("delete", pos, row["id"], None))
    return {"status": "applied"}


def _conflict_or_duplicate(row, data, detail, events, pos, row_has_content) -> dict:
    """``sync.push``: on a conflict, the same content as the server copy (seen by the caller)
    is a duplicate."""
    _touch(events, row, pos)
    if row["child_visible"] and row_has_content(row, data):
        return {"status": "duplicate", "_record": True}
    return {"status": "conflict", "detail": detail, "_record": True}


def _stale(row, base_version) -> str:
    return (f"The measurement changed on the server (version {row['version']}, you edited "
            f"version {base_version})")


def _touch(events, row, pos) -> None:
    """A receipt that shows ``row`` as it stands at this point of the batch."""
    events.setdefault(row["child_id"], []).append(("touch", pos, row["id"], None))


def _child_of(row) -> ops._ChildInfo:
    return ops._ChildInfo(row["child_id"], row["child_posyandu_id"], row["sex"], row["birth_date"],
                          row["birth_weight_kg"])


# ---------------------------------------------------------------------------------------
# prefetch and read-back
# ---------------------------------------------------------------------------------------
def _existing_rows(session, scope, ids) -> dict:
    """The stored rows of the pushed ids, locked in id order (``FOR UPDATE``): each edit's
    ``base_version`` is checked against the latest commit (two phones editing one visit: the
    second sees the first's version), and two batches lock their common rows in the same order."""
    query = (sa.select(*_T.c, _C.c.posyandu_id.label("child_posyandu_id"), _C.c.sex, _C.c.birth_date,
                       _C.c.birth_weight_kg,
                       sa.case((scope.child_clause(ops._CHILD_TABLE_COLUMNS), True), else_=False)
                       .label("child_visible"))
             .join(_C, _C.c.id == _T.c.child_id).where(_T.c.id.in_(ids))
             .order_by(_T.c.id).with_for_update(of=_T))
    out = {}
    for r in session.execute(query).all():
        row = _Row(r._mapping)
        row["child_visible"] = bool(row["child_visible"])
        out[row["id"]] = row
    return out


def _records(session, ids) -> dict:
    from ..sync.pull import records_by_ids
    return records_by_ids("measurement", ids)


# ---------------------------------------------------------------------------------------
# compute and write
# ---------------------------------------------------------------------------------------
def _is_simple(child_events) -> bool:
    """Only new visits, in date order: no record of the batch changes another one's receipt,
    so the child's trend is computed once at the end."""
    last = None
    for kind, _pos, _mid, payload in child_events:
        if kind != "create":
            return False
        if last is not None and payload["measured_on"] < last:
            return False
        last = payload["measured_on"]
    return True


def _recent_histories(session, first_new: dict) -> dict:
    """For children whose batch only adds visits (in date order): what the single POST reads
    (``operations._child_and_recent``) for the earliest of them, for all children in one
    statement per distinct window: the live rows from the first day of month m-2 on, and before
    that the latest live row, the latest usable weighing and the latest usable length.
    ``first_new``: child id -> date of its earliest new visit. Returns child id -> rows."""
    out: dict = {cid: [] for cid in first_new}
    windows: dict = {}
    for cid, day in first_new.items():
        windows.setdefault(ops._first_of_month_before(day, 2), []).append(cid)
    latest = (_T.c.measured_on.desc(), _T.c.created_at.desc())
    birth = sa.select(_C.c.birth_date).where(_C.c.id == _T.c.child_id).scalar_subquery()
    weight_ok, length_ok = ops.usable_weighing(birth), ops.USABLE_LENGTH
    for since, cids in windows.items():
        live = sa.and_(_T.c.child_id.in_(cids), _T.c.deleted_at.is_(None))
        ranked = sa.select(
            *ops._HISTORY_COLUMNS,
            sa.func.row_number().over(partition_by=_T.c.child_id, order_by=latest).label("n_any"),
            sa.case((weight_ok, 1), else_=0).label("w_ok"),
            sa.func.row_number().over(partition_by=(_T.c.child_id, sa.case((weight_ok, 1), else_=0)),
                                      order_by=latest).label("n_w"),
            sa.case((length_ok, 1), else_=0).label("l_ok"),
            sa.func.row_number().over(partition_by=(_T.c.child_id, sa.case((length_ok, 1), else_=0)),
                                      order_by=latest).label("n_l"),
        ).where(live, _T.c.measured_on < since).subquery("before")
        anchors = sa.select(*(ranked.c[c.key] for c in ops._HISTORY_COLUMNS)).where(sa.or_(
            ranked.c.n_any == 1, sa.and_(ranked.c.w_ok == 1, ranked.c.n_w == 1),
            sa.and_(ranked.c.l_ok == 1, ranked.c.n_l == 1)))
        window = sa.select(*ops._HISTORY_COLUMNS).where(live, _T.c.measured_on >= since)
        for r in session.execute(sa.union_all(window, anchors)).all():
            out[r.child_id].append(dict(r._mapping))
    return out


def _event_dates(child_events, existing):
    """The visit dates a child's records touch (a moved visit: its old and new date)."""
    for kind, _pos, mid, payload in child_events:
        if kind == "create":
            yield payload["measured_on"]
        else:
            yield existing[mid]["measured_on"]
            if kind == "update":
                yield payload[0]["measured_on"]


def _compute_and_write(session, scope, events, children, existing, items, loaded, ids, results, now):
    writers = {cid: evs for cid, evs in events.items() if any(kind != "touch" for kind, *_ in evs)}
    # Each child's history from two months before the earliest visit its records touch (and
    # the latest visit, weighing and length before that): nothing earlier can change, and
    # nothing later is missing. A child that only gets new visits after all its stored ones
    # is assessed as the single POST assesses a visit (assess_visit); the others' visits from
    # the first day of that month on are replayed (trend_values since that day).
    earliest = {cid: min(_event_dates(evs, existing)) for cid, evs in writers.items()}
    history = _recent_histories(session, earliest) if writers else {}
    simple_children = {cid for cid, evs in writers.items() if _is_simple(evs)}
    windowed = {cid for cid in simple_children if all(r["measured_on"] < earliest[cid] for r in history[cid])}

    user_id = scope.user_id
    audit_user = g.get("current_user_id") if has_request_context() else None
    request_id = g.get("request_id") if has_request_context() else None
    inserts, edits, deletes, trend_rows, audit_rows, notes = [], [], [], [], [], []
    snapshots: dict[int, dict] = {}
    new_rows: dict = {}
    created_seq = 0
    # the report summary's months that these writes can change (every child's, together)
    summary_months: set = set()

    def touch_month(day) -> None:
        summary_months.add(day.year * 12 + day.month - 1)

    for cid, child_events in writers.items():
        child = children[cid]
        live = {r["id"]: r for r in history[cid]}
        since = earliest[cid].replace(day=1)
        original = {mid: {k: r[k] for k in _TREND_KEYS} for mid, r in live.items()}
        simple = cid in simple_children
        rewrite_all = False   # did the single path recompute the child's other rows?
        gone: dict = {}
        edited_ids, deleted_ids = [], []
        for kind, pos, mid, payload in child_events:
            touched = None
            if kind == "create":
                values = payload
                created_at = now + timedelta(microseconds=created_seq)
                created_seq += 1
                if cid in windowed:  # after every stored visit: as the single POST (no replay)
                    row = {"id": mid, **values, "created_at": created_at}
                    row.update(assessment.assess_visit(child, row, list(live.values())))
                else:
                    row = {"id": mid, **values, **assessment.visit_values(child, values), "created_at": created_at}
                back_dated = any(r["measured_on"] >= values["measured_on"] for r in live.values())
                touch_month(values["measured_on"])
                rewrite_all |= back_dated
                live[mid] = row
                new_rows[mid] = (row, pos, child, items[pos]["data"].get("client_updated_at"), loaded[pos])
                touched = [mid] if not back_dated else None
                audit_rows.append((pos, _audit_row("create", mid, field_diff({}, {k: v for k, v in values.items()
                                                                            if v is not None}),
                                             child, audit_user, request_id, now)))
            elif kind == "update":
                after, changes, loaded_edit = payload
                row = live[mid]
                touch_month(row["measured_on"])
                for key, value in after.items():
                    row[key] = value
                row.update(assessment.visit_values(child, {**row, **after}))
                touch_month(row["measured_on"])
                row["_edit"] = (after, loaded_edit)
                others = len(live) > 1
                relevant = others and bool(_TREND_INPUTS & set(changes))
                rewrite_all |= relevant
                touched = None if relevant else [mid]
                edited_ids.append(mid)
                audit_rows.append((pos, _audit_row("update", mid, changes, child, audit_user, request_id, now)))
            elif kind == "delete":
                gone[mid] = live.pop(mid)   # keeps the trend values it had when it was deleted
                touch_month(gone[mid]["measured_on"])
                rewrite_all = True
                deleted_ids.append(mid)
                audit_rows.append((pos, _audit_row("delete", mid, {"deleted_at": [None, now.isoformat()]}, child,
                                             audit_user, request_id, now)))
            if not simple and kind != "touch":
                _apply_trend(child, live, touched, since)
            if not simple and mid in live:
                snapshots[pos] = {k: live[mid][k] for k in _TREND_KEYS}
        if simple and cid not in windowed:
            _apply_trend(child, live, None if rewrite_all else [e[2] for e in child_events], since)
        # rows of the child's history (not new, not edited) whose trend columns changed
        rows = {**live, **gone}
        changed = [mid for mid, before in original.items()
                   if mid not in edited_ids and any(before[k] != rows[mid][k] for k in _TREND_KEYS)]
        for mid in changed:
            trend_rows.append({"id": mid, **{k: rows[mid][k] for k in _TREND_KEYS}})
            touch_month(rows[mid]["measured_on"])
        changed = [mid for mid in changed if mid not in gone]   # a deleted row is noted as deleted
        for kind, pos, mid, _ in child_events:
            if kind in ("create", "update"):
                notes.append((pos, mid, child, "upsert"))
            elif kind == "delete":
                notes.append((pos, mid, child, "delete"))
        last = max(pos for _, pos, _, _ in child_events)
        notes.extend((last, mid, child, "upsert") for mid in changed)
        for mid in edited_ids:
            row = live[mid]
            after, loaded_edit = row.pop("_edit")
            stored = existing[mid]
            edits.append({"b_id": mid, **{"b_" + f: after[f] for f in ops.ENTERED_FIELDS},
                          **{"b_" + c: row[c] for c in assessment.COMPUTED_COLUMNS},
                          "b_version": stored["version"] + 1,
                          "b_client_updated_at": loaded_edit["client_updated_at"]
                          if "client_updated_at" in loaded_edit else stored["client_updated_at"],
                          "b_updated_by_id": user_id, "b_updated_at": now, "b_computed_at": now})
        for mid in deleted_ids:
            deletes.append({"b_id": mid, "b_deleted_at": now, "b_version": existing[mid]["version"] + 1,
                            "b_updated_by_id": user_id, "b_updated_at": now})

    audit_rows = [row for _, row in sorted(audit_rows, key=lambda pr: pr[0])]
    notes.sort(key=lambda note: note[0])
    for mid, (row, pos, child, _, values) in sorted(new_rows.items(), key=lambda kv: kv[1][1]):
        created_at = row["created_at"]
        inserts.append({
            "id": mid, "child_id": child.id, "posyandu_id": child.posyandu_id, "version": 1,
            "client_updated_at": values.get("client_updated_at"), "created_by_id": user_id,
            "updated_by_id": user_id, "created_at": created_at, "updated_at": created_at,
            "computed_at": created_at, "deleted_at": None,
            **{f: row[f] for f in ops.ENTERED_FIELDS}, **{c: row[c] for c in assessment.COMPUTED_COLUMNS}})
        if pos not in snapshots:
            snapshots_final = row
            results[pos]["_warnings"] = (lambda r=snapshots_final: r["warnings"])
    for pos, result in enumerate(results):
        if result.get("_warnings") is True:   # edits and unchanged edits: their row at the time
            snap = snapshots.get(pos)
            stored = existing.get(ids[pos])
            result["_warnings"] = (lambda s=snap, r=stored: (s or r)["warnings"])

    if inserts or edits or deletes or trend_rows:
        savepoint = session.begin_nested()
        try:
            if inserts:
                session.execute(sa.insert(_T), inserts)
            if audit_rows:
                session.execute(sa.insert(AuditEvent.__table__), audit_rows)
            if edits:
                session.execute(_UPDATE_EDITED, edits)
            if deletes:
                session.execute(_UPDATE_DELETED, deletes)
            ops._bulk_trend_update(session, trend_rows, now)
            # only the months written (and those whose statuses the writes changed): a push of
            # this month's visits recomputes one month per child, not each child's five years
            refresh_child_months(session, list(writers), sorted(summary_months))
            savepoint.commit()
        except (sa.exc.IntegrityError, sa.exc.DataError):
            # e.g. a concurrent request inserted one of these ids: the per-record path decides
            # (posyandu/concurrent_writes.py). A lost connection is not caught: it leaves as the
            # 503 of posyandu/database_outage.py, not as a PendingRollbackError later.
            savepoint.rollback()
            return None
        ops._expire_loaded(session, [*new_rows, *(e["b_id"] for e in edits), *(d["b_id"] for d in deletes)])
        for _, mid, child, op in notes:
            record_change(session, entity="measurement", entity_id=mid, posyandu_id=child.posyandu_id,
                          child_id=child.id, op=op)
    return snapshots


def _apply_trend(child, live: dict, only, since) -> None:
    """Trend columns and warnings of the child's live rows from ``since`` on (``only``: just
    these ids); the rows before ``since`` are the window's context, as stored."""
    if not live:
        return
    values = assessment.trend_values(child, list(live.values()), since=since)
    for mid in (values if only is None else only):
        if mid in values:
            live[mid].update(values[mid])


def _audit_row(action, mid, changes, child, user_id, request_id, at) -> dict:
    return {"action": action, "entity": "measurement", "entity_id": str(mid), "changes": changes or None,
            "posyandu_id": child.posyandu_id, "child_id": str(child.id), "user_id": user_id,
            "request_id": request_id, "at": at}
