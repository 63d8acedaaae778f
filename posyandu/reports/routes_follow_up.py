"""HTTP route of the follow-up list, by name (thin: parse, resolve the area, call the operation).

* ``GET /api/v1/reports/follow-up`` -- one cursor page (JSON). The same list downloads as
  ``/api/v1/reports/follow-up.xlsx`` / ``.csv`` (registered report kind ``follow-up``).
"""
from __future__ import annotations

from ..auth.scope import current_scope, roles_required
from ..blueprint import Blueprint
from . import follow_up as ops
from .follow_up_schemas import FollowUpArgs, FollowUpPageOut
from .areas import area_from_args, month_from_args
from .routes_exports import request_language

blp = Blueprint("report_follow_up", __name__, url_prefix="/reports",
                description="Follow-up lists, by name: the children of an area to act on this month and why "
                            "(docs/follow-up.md).")


@blp.route("/follow-up", methods=["GET"])
@roles_required()
@blp.arguments(FollowUpArgs, location="query")
@blp.response(200, FollowUpPageOut)
@blp.alt_response(404, description="The area does not exist or lies outside your scope (parents: always).")
@blp.alt_response(422, description="A malformed or future month, an unknown reason or level, level without code, "
                                   "a bad cursor (problem+json naming the field).")
def follow_up(args):
    """Follow-up list of an area for a month, by name

    The target children of the area (posyandu, desa, puskesmas, kecamatan, kabupaten) in month
    `month` who need follow-up, each once with every reason: `severe_wasting` (gizi buruk: BB/TB
    < −3 SD, LiLA < 11.5 cm or oedema: refer), `wasted`, `stunted_new` (stunted at a length
    measured this month, not before), `stunted_known`, `underweight`, `bgm`, `two_t` (2T),
    `not_weighed` (this month), `not_weighed_2m` (two months or more), `early_warning` (the rule
    that fired, with its numbers). Each row: the child (NIK masked, as the child registry shows
    it to staff), age, posyandu, the month's last measurement with its categories, the reasons
    with their numbers and Bahasa Indonesia/English labels, and links to the child, her charts
    and the immunization lists. Ordered by posyandu code, then name; pass `next_cursor` back as
    `cursor`. Kader: her posyandu; puskesmas staff: their area; dinkes: their kabupaten; other
    areas and parents: 404. Download: `/reports/follow-up.xlsx` or `.csv` (same arguments).
    """
    scope = current_scope()
    area = area_from_args(scope, args)
    month = month_from_args(args)
    return ops.follow_up_list(scope, area, month, reason=args.get("reason"), early_warning=args.get("early_warning"),
                              cursor=args.get("cursor"), limit=args["limit"],
                              language=request_language(args.get("lang"), scope))
