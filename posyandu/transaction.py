"""One transaction per request: operations only flush; the request commits once at the end.

A successful (< 400) response commits; an error response or an exception rolls back, so a
rejected request changes nothing.
"""
from __future__ import annotations

from flask import Flask, g

from .errors import outage_response
from .extensions import db


def keep_changes_on_error() -> None:
    """Commit this request's changes even though it answers an error (e.g. a refresh-token
    reuse answers 401 but the revocation of the token family must stick)."""
    g.commit_despite_error = True


def register_request_transaction(app: Flask) -> None:
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
                if outage is None:
                    raise
                session.rollback()
                return outage
        else:
            session.rollback()
        return response
