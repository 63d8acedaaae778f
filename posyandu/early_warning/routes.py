"""HTTP routes for the growth-faltering early warning (thin: parse, resolve the area, call operations).

Paths (under ``/api/v1``):

* ``GET /early-warnings?level=&code=&month=``         the list for an area (cursor pages)
* ``GET /early-warnings/counts?level=&code=&month=``  children listed per posyandu of an area
* ``GET /children/{child_id}/early-warning?month=``   one child (parents: their own children)
"""
from __future__ import annotations

from flask import request

from ..auth.scope import STAFF_ROLES, current_scope, roles_required
from ..blueprint import Blueprint
from ..reports.areas import area_from_args, month_from_args
from . import operations as ops
from .schemas import AreaArgs, ChildWarningOut, CountsOut, ListArgs, ListOut, MonthArgs

blp = Blueprint("early_warning", __name__, url_prefix=None,
                description="Growth-faltering early warning: children at risk of becoming stunted, before they "
                            "cross -2 SD, with the rule that fired and its numbers (docs/early-warning.md).")


_NOT_FOUND = "The area (or child) does not exist or lies outside your scope (problem+json)."
_INVALID = "A malformed or future month, an unknown level or rule, level without code, a bad cursor (problem+json " \
           "naming the field)."


@blp.route("/early-warnings", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(ListArgs, location="query")
@blp.response(200, ListOut)
@blp.alt_response(403, description="Parents have no area lists (use the per-child endpoint).")
@blp.alt_response(404, description=_NOT_FOUND)
@blp.alt_response(422, description=_INVALID)
def early_warning_list(args):
    """Early-warning list for an area

    The children of a posyandu (for the cadres' next session) or of a larger area (desa,
    puskesmas, kecamatan, kabupaten: for puskesmas and dinkes staff) who are not stunted yet but
    at risk of becoming stunted in month ``month``: length/height-for-age falling or close to
    -2 SD, weight crossing centile lines downward, no weight gain at two weighings, or a large
    drop after a long absence. Each row: the child, age, posyandu, every rule that fired with its
    numbers and advice (in the caller's language, both languages included), and the last
    measurement. Computed from the stored measurements up to the month's end; values flagged
    implausible never count. Ordered by posyandu code, then the number of rules fired, then the
    youngest first. ``children`` and ``by_rule`` count the whole area. Kader: their posyandu;
    puskesmas staff: their area; dinkes: their kabupaten; an area outside is 404.
    """
    scope = current_scope()
    area = area_from_args(scope, args)
    month = month_from_args(args)
    return ops.area_list(scope, area, month, rule=args.get("rule"), cursor=args.get("cursor"),
                         limit=args["limit"], language=ops.caller_language(scope, request.accept_languages))


@blp.route("/early-warnings/counts", methods=["GET"])
@roles_required(*STAFF_ROLES)
@blp.arguments(AreaArgs, location="query")
@blp.response(200, CountsOut)
@blp.alt_response(403, description="Parents have no area counts.")
@blp.alt_response(404, description=_NOT_FOUND)
@blp.alt_response(422, description=_INVALID)
def early_warning_counts(args):
    """Early-warning counts per posyandu

    For every posyandu of the area (zeros included): the children on the month's early-warning
    list and the children per rule. The same numbers reports and dashboards show as
    "early-warning count". Scope as for the list.
    """
    scope = current_scope()
    return ops.area_counts(area_from_args(scope, args), month_from_args(args))


@blp.route("/children/<uuid:child_id>/early-warning", methods=["GET"])
@roles_required()
@blp.arguments(MonthArgs, location="query")
@blp.response(200, ChildWarningOut)
@blp.alt_response(404, description=_NOT_FOUND)
@blp.alt_response(422, description=_INVALID)
def child_early_warning(args, child_id):
    """A child's early warning

    Whether the child is on the month's early-warning list and every rule that fired, with its
    numbers and advice. Staff in scope; parents for their own children; anyone else 404.
    """
    scope = current_scope()
    return ops.child_warnings(scope, child_id, month_from_args(args),
                              language=ops.caller_language(scope, request.accept_languages))
