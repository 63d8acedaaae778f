"""Send new and changed records to a SATUSEHAT(-like) FHIR server, exactly once each.

Per resource (the same set an export gives, plus tombstones of what was sent and later deleted
or merged), in dependency order (Organization, Location, Patient, RelatedPerson, Encounter,
Observation, Immunization):

1. hash the mapped resource (canonical JSON, local references): same hash as the stored
   ``fhir_submission`` row in state ``sent`` → nothing to do;
2. validate it (FHIR R4 models + SATUSEHAT rules); invalid → ``failed``, never sent;
3. rewrite its references to the server's ids (a dependency not on the server yet → it waits
   for the end of its type, then for the next run);
4. no server id yet → commit a ``pending`` row, then POST (conditional on our identifier; a
   retry, or a later run finding the row still ``pending``, first searches for it, so a create
   whose answer was lost is adopted, not repeated); otherwise PUT to the stored id;
5. store server id, hash and state, and commit: per record, so a crash loses at most the
   answer in flight, which step 4 recovers.

A server that stays unavailable (retries exhausted) stops the run; the next run continues.
``dry_run`` maps, validates and compares hashes but sends and writes nothing.
"""
from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import sqlalchemy as sa

from ..db import utcnow
from ..extensions import db
from . import mapping, reading
from .client import Refused, SatusehatClient, ServerUnavailable
from .models import FhirSubmission
from .settings import SatusehatSettings
from .validation import problems_of

log = logging.getLogger(__name__)

ORDER = mapping.RESOURCE_TYPES
OUTCOMES = ("created", "updated", "unchanged", "waiting", "invalid", "refused")


@dataclass
class SubmitReport:
    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped: str | None = None  # why the run stopped early (server unavailable, limit)

    def add(self, resource_type: str, outcome: str) -> None:
        per_type = self.counts.setdefault(resource_type, dict.fromkeys(OUTCOMES, 0))
        per_type[outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = []
        for resource_type, c in self.counts.items():
            shown = ", ".join(f"{k} {v}" for k, v in c.items() if v)
            parts.append(f"{resource_type}: {shown or 'nothing'}")
        head = ("dry run, nothing sent or written: " if self.dry_run else "") + \
            f"{self.total('created')} {verb}created, {self.total('updated')} {verb}updated, " \
            f"{self.total('unchanged')} unchanged, {self.total('waiting')} waiting, " \
            f"{self.total('invalid')} invalid, {self.total('refused')} refused"
        tail = f"; stopped: {self.stopped}" if self.stopped else ""
        return head + tail + ("\n  " + "\n  ".join(parts) if parts else "")


class _Stop(Exception):
    pass


def content_hash(resource: dict) -> str:
    canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _references(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str) and "/" in reference:
            found.add(reference)
        for child in value.values():
            _references(child, found)
    elif isinstance(value, list):
        for child in value:
            _references(child, found)
    return found


def _rewrite(value: Any, server_ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite(v, server_ids) for k, v in value.items()}
        reference = value.get("reference")
        if isinstance(reference, str) and reference in server_ids:
            out["reference"] = server_ids[reference]
        return out
    if isinstance(value, list):
        return [_rewrite(v, server_ids) for v in value]
    return value


def _source_id(resource_type: str, row: dict):
    if resource_type in ("Patient", "RelatedPerson", "Observation", "Immunization"):
        return row.get("id")
    return None


class Submitter:
    def __init__(self, settings: SatusehatSettings, client: SatusehatClient | None = None, *,
                 dry_run: bool = False, limit: int | None = None,
                 on_sent: Callable[[str, str], None] | None = None):
        self.settings = settings
        self.client = client or SatusehatClient(settings)
        self.ctx = mapping.Context(organization_id=settings.organization_id)
        self.dry_run = dry_run
        self.limit = limit
        self.sent = 0
        self.on_sent = on_sent  # test hook: called after each stored answer
        self.report = SubmitReport(dry_run=dry_run)
        #: Server references that are not ours to send (the submitting organization).
        self.external = {f"Organization/{settings.organization_id}"}
        #: Dry run: what would have been created, so its dependents are not counted as waiting.
        self.planned: dict[str, str] = {}

    # --- state ----------------------------------------------------------------------------
    def _states(self, resource_type: str, local_ids: Iterable[str]) -> dict[str, FhirSubmission]:
        ids = list(set(local_ids))
        if not ids:
            return {}
        rows = db.session.scalars(sa.select(FhirSubmission).where(
            FhirSubmission.resource_type == resource_type, FhirSubmission.local_id.in_(ids))).all()
        return {row.local_id: row for row in rows}

    def _server_ids(self, references: set[str]) -> dict[str, str]:
        """``{"Patient/<local>": "Patient/<server>"}`` for the references already on the server
        (one query per page)."""
        by_type: dict[str, list[str]] = {}
        for reference in references:
            resource_type, _, local_id = reference.partition("/")
            by_type.setdefault(resource_type, []).append(local_id)
        if not by_type:
            return {}
        conditions = [sa.and_(FhirSubmission.resource_type == t, FhirSubmission.local_id.in_(ids))
                      for t, ids in by_type.items()]
        rows = db.session.execute(sa.select(FhirSubmission.resource_type, FhirSubmission.local_id,
                                            FhirSubmission.server_id)
                                  .where(sa.or_(*conditions), FhirSubmission.server_id.is_not(None))).all()
        return {f"{t}/{local}": f"{t}/{server}" for t, local, server in rows}

    # --- one resource ---------------------------------------------------------------------
    def _send(self, resource_type: str, resource: dict, digest: str, source_id, state: FhirSubmission | None,
              server_ids: dict[str, str]) -> str:
        """Returns the outcome; raises _Stop when the run must end."""
        missing = [r for r in _references(resource, set()) if r not in server_ids and r not in self.external]
        if missing:
            return "waiting"
        if self.limit is not None and self.sent >= self.limit:
            raise _Stop(f"limit of {self.limit} records reached")
        body = _rewrite(resource, server_ids)
        creating = state is None or state.server_id is None
        if self.dry_run:
            self.sent += 1
            planned = f"{resource_type}/{resource['id']}"
            server_ids.setdefault(planned, f"{resource_type}/(new)")
            self.planned.setdefault(planned, f"{resource_type}/(new)")
            return "created" if creating else "updated"
        local_id = resource["id"]
        if state is None:
            state = FhirSubmission(resource_type=resource_type, local_id=local_id, source_id=source_id,
                                   state="pending", attempts=0)
            db.session.add(state)
            db.session.commit()  # the trace that makes a lost create answer recoverable
        identifier = mapping.local_identifier_of(resource, self.ctx)
        state.attempts = (state.attempts or 0) + 1
        try:
            if creating:
                if state.state == "pending" and state.attempts > 1 and identifier is not None:
                    # an earlier run may have created it without learning the id
                    server_id = self.client.search_by_identifier(resource_type, identifier["system"],
                                                                 identifier["value"])
                    if server_id is not None:
                        self.client.update(resource_type, server_id, {k: v for k, v in body.items() if k != "id"})
                    else:
                        server_id = self.client.create(resource_type, {k: v for k, v in body.items() if k != "id"},
                                                       identifier)
                else:
                    server_id = self.client.create(resource_type, {k: v for k, v in body.items() if k != "id"},
                                                   identifier)
                state.server_id = server_id
            else:
                self.client.update(resource_type, state.server_id, body)
        except Refused as exc:
            state.state, state.last_status, state.last_error = "failed", exc.status, exc.summary[:255]
            db.session.commit()
            return "refused"
        except ServerUnavailable as exc:
            db.session.commit()  # keep the attempt count; the row stays pending/sent as it was
            raise _Stop(f"server unavailable ({exc})") from exc
        state.state, state.content_hash, state.sent_at = "sent", digest, utcnow()
        state.last_status, state.last_error = None, None
        if state.source_id is None and source_id is not None:
            state.source_id = source_id
        db.session.commit()
        self.sent += 1
        server_ids[f"{resource_type}/{local_id}"] = f"{resource_type}/{state.server_id}"
        if self.on_sent is not None:
            self.on_sent(resource_type, local_id)
        return "created" if creating else "updated"

    def _invalid(self, resource_type: str, resource: dict, source_id, state: FhirSubmission | None,
                 problems: list[tuple[str, str]]) -> None:
        self.report.add(resource_type, "invalid")
        log.warning("FHIR resource invalid, not sent", extra={"event": "fhir_invalid", "resource_type": resource_type,
                                                              "paths": [p for p, _ in problems[:5]]})
        if self.dry_run:
            return
        if state is None:
            state = FhirSubmission(resource_type=resource_type, local_id=resource["id"], source_id=source_id,
                                   attempts=0)
            db.session.add(state)
        state.state = "failed" if state.server_id is None or state.state != "sent" else state.state
        state.last_status = None
        state.last_error = ("invalid: " + "; ".join(f"{p}: {m}" for p, m in problems))[:255]
        db.session.commit()

    # --- the run --------------------------------------------------------------------------
    def _page(self, resource_type: str, rows: list[dict], deferred: list) -> None:
        items = []
        for row in rows:
            for resource in mapping.map_row(resource_type, row, self.ctx):
                items.append((resource, _source_id(resource_type, row)))
        states = self._states(resource_type, (r["id"] for r, _ in items))
        references: set[str] = set()
        for resource, _ in items:
            _references(resource, references)
        server_ids = {**self.planned, **self._server_ids(references)}
        for resource, source_id in items:
            self._one(resource_type, resource, source_id, states.get(resource["id"]), server_ids, deferred)

    def _one(self, resource_type, resource, source_id, state, server_ids, deferred) -> None:
        digest = content_hash(resource)
        if state is not None and state.state == "sent" and state.content_hash == digest:
            self.report.add(resource_type, "unchanged")
            return
        problems = problems_of(resource)
        if problems:
            self._invalid(resource_type, resource, source_id, state, problems)
            return
        outcome = self._send(resource_type, resource, digest, source_id, state, server_ids)
        if outcome == "waiting" and deferred is not None:
            deferred.append((resource, source_id))
            return
        self.report.add(resource_type, outcome)

    def run(self, selection: reading.Selection, types: Iterable[str] = ORDER) -> SubmitReport:
        selection = reading.Selection(area=selection.area, since=selection.since, until=selection.until,
                                      with_tombstones=True)
        wanted = [t for t in ORDER if t in set(types)]
        session = db.session()
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False  # no reload per record
        try:
            for resource_type in wanted:
                deferred: list = []
                for rows in reading.pages(resource_type, selection):
                    self._page(resource_type, rows, deferred)
                if deferred:  # dependencies sent later in the same type (a merged child's kept record)
                    states = self._states(resource_type, (r["id"] for r, _ in deferred))
                    references: set[str] = set()
                    for resource, _ in deferred:
                        _references(resource, references)
                    server_ids = {**self.planned, **self._server_ids(references)}
                    for resource, source_id in deferred:
                        self._one(resource_type, resource, source_id, states.get(resource["id"]), server_ids, None)
        except _Stop as stop:
            self.report.stopped = str(stop)
        finally:
            if self.dry_run:
                db.session.rollback()
            session.expire_on_commit = expire_on_commit
        return self.report


def submit(settings: SatusehatSettings, selection: reading.Selection, *, dry_run: bool = False,
           limit: int | None = None, types: Iterable[str] = ORDER, client: SatusehatClient | None = None,
           on_sent=None) -> SubmitReport:
    submitter = Submitter(settings, client, dry_run=dry_run, limit=limit, on_sent=on_sent)
    try:
        return submitter.run(selection, types)
    finally:
        if client is None:
            submitter.client.close()


def audit_submit(report: SubmitReport, *, area, since, until) -> None:
    from ..audit.log import audit
    changes = {"area": [None, f"{area.level}:{area.code}" if area is not None else "all"],
               "since": [None, since.isoformat() if since else None],
               "until": [None, until.isoformat() if until else None],
               "dry_run": [None, report.dry_run],
               "counts": [None, copy.deepcopy(report.counts)], "stopped": [None, report.stopped]}
    audit("submit", "fhir", f"{area.level}:{area.code}"[:40] if area is not None else "all", changes=changes)
