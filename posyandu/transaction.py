"""One transaction per request: operations only flush; the request commits once at the end.

A successful (< 400) response commits; an error response or an exception rolls back, so a
rejected request changes nothing.
"""
from __future__ import annotations

from flask import Flask

from .extensions import db


def register_request_transaction(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response):
        session = db.session
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
        return response
