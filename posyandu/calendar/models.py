"""Exceptions to a posyandu's monthly session rule.

- ``moved``: the session due on ``original_date`` takes place on ``new_date`` instead.
- ``cancelled``: no session on ``original_date``.
- ``extra``: an additional session on ``new_date``.

``start_time``/``end_time`` override the posyandu's usual times (local time in the posyandu's
zone) for the moved or extra session.
"""
from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

EXCEPTION_KINDS = ("moved", "cancelled", "extra")


class CalendarException(db.Model):
    __tablename__ = "calendar_exception"

    id: Mapped[int] = mapped_column(primary_key=True)
    posyandu_id: Mapped[int] = mapped_column(sa.ForeignKey("posyandu.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    original_date: Mapped[date | None] = mapped_column(sa.Date)
    new_date: Mapped[date | None] = mapped_column(sa.Date)
    start_time: Mapped[time | None] = mapped_column(sa.Time)
    end_time: Mapped[time | None] = mapped_column(sa.Time)
    note: Mapped[str | None] = mapped_column(sa.String(255))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("kind IN ('moved','cancelled','extra')", name="kind"),
        sa.CheckConstraint(
            "(kind = 'moved' AND original_date IS NOT NULL AND new_date IS NOT NULL)"
            " OR (kind = 'cancelled' AND original_date IS NOT NULL AND new_date IS NULL)"
            " OR (kind = 'extra' AND original_date IS NULL AND new_date IS NOT NULL)",
            name="kind_dates"),
        sa.Index("ix_calendar_exception_posyandu_original", "posyandu_id", "original_date"),
        sa.Index("ix_calendar_exception_posyandu_new", "posyandu_id", "new_date"),
    )

    # --- the attributes posyandu.core.calendar reads (ExceptionLike) ---
    @property
    def on(self) -> date | None:
        """The regular date affected (moved/cancelled), or the extra session's date."""
        return self.new_date if self.kind == "extra" else self.original_date

    @property
    def moved_to(self) -> date | None:
        return self.new_date if self.kind == "moved" else None
