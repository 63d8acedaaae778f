"""The command-centre feed as last computed, per kabupaten, shared by every server process.

Kept in the database, not in each gunicorn worker: with several workers each one recomputed the
kabupaten's feed on its own (10-75 s of CPU at kabupaten scale, every few minutes on a posyandu
day) and served its own ETag, so a dashboard whose polls landed on another worker got a 200
instead of a 304. Now one process computes (a PostgreSQL advisory lock per kabupaten) and all
serve the same bytes and ETag. ``past_rows`` are the 12 past months' aggregate rows (counts
before small-count suppression, no personal data) reused for an hour by the next computation.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime
from ..extensions import db


class CommandCentreFeed(db.Model):
    __tablename__ = "command_centre_feed"

    kabupaten_code: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    #: The data version the feed was computed at (``operations.data_version``).
    version: Mapped[str] = mapped_column(sa.String(80))
    etag: Mapped[str] = mapped_column(sa.String(80))
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: What the past months' rows were computed for (kabupaten, months, rules, posyandu directory).
    past_key: Mapped[str | None] = mapped_column(sa.String(80))
    past_rows: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    past_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
