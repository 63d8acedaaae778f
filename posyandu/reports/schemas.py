"""Schemas at the edge of the nutrition reports (nutrition status, SKDN, trend)."""
from __future__ import annotations

from marshmallow import fields, validate

from .export_schemas import ReportArgs
from .trend import DEFAULT_MONTHS, MAX_MONTHS


class NutritionReportArgs(ReportArgs):
    """Area, month, breakdown and language (``level``/``code`` default to your own area)."""


class TrendArgs(ReportArgs):
    months = fields.Integer(validate=validate.Range(min=1, max=MAX_MONTHS), metadata={
        "description": f"How many months, ending with `month` (default {DEFAULT_MONTHS}, at most {MAX_MONTHS})."})

    class Meta:
        exclude = ("by",)
