"""One transaction per request: operations only flush; the request commits once at the end.

A successful (< 400) response commits; an error response or an exception rolls back, so a
rejected request changes nothing.

When PostgreSQL aborts the transaction because it met another one (a deadlock: two phones
pushing edits of the same visits in opposite orders; or a serialization failure), the view is
run again from the start on a fresh transaction, as PostgreSQL's manual prescribes for these
errors: the other transaction has committed or is about to, so the replay decides against its
result, as a request sent just after it would. Nothing of the aborted attempt remains (the
session is rolled back). After ``MAX_REPLAYS`` the client gets a 503 with Retry-After, never
a 500; phones retry, and by their UUIDs a retry creates nothing twice.
"""
from __future__ import annotations

import functools
import logging

import sqlalchemy as sa
from flask import Flask, g, request

from .errors import outage_response, problem_response
from .extensions import db

log = logging.getLogger("posyandu.transaction")

#: SQLSTATEs after which the transaction was rolled back and running it again is the remedy:
#: serialization failure, deadlock detected (PostgreSQL's class 40 "transaction rollback").
REPLAYABLE_STATES = frozenset({"40001", "40P01"})
MAX_REPLAYS = 3
RETRY_AFTER_SECONDS = 1


def replayable_state(error: BaseException) -> str | None:
    """The SQLSTATE of a transaction conflict worth replaying, else None."""
    if not isinstance(error, sa.exc.DBAPIError):
        return None
    state = getattr(error.orig, "sqlstate", None)
    return state if state in REPLAYABLE_STATES else None


def _replaying(view):
    @functools.wraps(view)
    def run(*args, **kwargs):
        attempt = 0
        while True:
            try:
                return view(*args, **kwargs)
            except sa.exc.DBAPIError as error:
                state = replayable_state(error)
                if state is None:
                    raise
                db.session.rollback()
                g.pop("commit_despite_error", None)
                attempt += 1
                if attempt > MAX_REPLAYS:
                    log.warning("transaction conflict (%s) persisted after %d replays", state, MAX_REPLAYS,
                                extra={"event": "transaction_conflict", "endpoint": request.endpoint})
                    return conflict_response()
                log.info("transaction conflict (%s): replaying the request", state,
                         extra={"event": "transaction_replay", "endpoint": request.endpoint, "attempt": attempt})
    run.replays_transaction_conflicts = True
    return run


def conflict_response():
    """503 problem+json with Retry-After for a transaction that kept meeting another one."""
    return problem_response(
        503, "Service unavailable", slug="transaction-conflict",
        detail="Another change to the same records was being saved at the same moment. Please try again.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def keep_changes_on_error() -> None:
    """Commit this request's changes even though it answers an error (e.g. a refresh-token
    reuse answers 401 but the revocation of the token family must stick)."""
    g.commit_despite_error = True


def register_request_transaction(app: Flask) -> None:
    """Commit or roll back each request; replay views on transaction conflicts (call after
    every blueprint is registered: it wraps the registered views)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not endpoint.endswith(".static"):
            app.view_functions[endpoint] = _replaying(view)

    @app.after_request
    def _commit_or_rollback(response):
        session = db.session
        if response.status_code < 400 or g.pop("commit_despite_error", False):
            try:
                session.commit()
            except Exception as exc:
                # The connection died during COMMIT: we cannot tell whether it landed, so the
                # client is told to retry (a retry by the same UUID is a duplicate if it did).
                outage = outage_response(exc)
                if outage is None and replayable_state(exc) is not None:
                    outage = conflict_response()
                if outage is None:
                    raise
                session.rollback()
                return outage
        else:
            session.rollback()
        return response
