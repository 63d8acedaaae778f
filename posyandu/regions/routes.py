"""HTTP routes for regions, puskesmas and posyandu (thin: parse, check scope, call operations, dump).

Mounted at ``/api/v1``: ``/regions``, ``/puskesmas``, ``/posyandu``. Regions are reference
data any signed-in staff member may read; puskesmas and posyandu are limited to the caller's
area (outside it → 404).
"""
from ..blueprint import Blueprint

from ..auth.scope import STAFF_ROLES, SUPERVISOR_ROLES, current_scope, roles_required
from . import operations as ops
from . import schemas

blp = Blueprint("regions", __name__, url_prefix="", description="Regions (Kemendagri codes), puskesmas and posyandu")


@blp.route("/regions")
@blp.arguments(schemas.RegionListArgs, location="query")
@blp.response(200, schemas.RegionPageSchema)
@roles_required(*STAFF_ROLES)
def list_regions(args):
    """List regions

    Provinsi, kabupaten/kota, kecamatan and desa/kelurahan by Kemendagri code, filtered by
    `level`, `parent` (dotted or undotted code) and `q` (part of the name). Ordered by code;
    follow `next_cursor` for the next page.
    """
    return ops.list_regions(level=args["level"], parent=args["parent"], q=args["q"],
                            limit=args["limit"], cursor=args["cursor"])


@blp.route("/regions/<string:code>")
@blp.response(200, schemas.RegionDetailSchema)
@roles_required(*STAFF_ROLES)
def get_region(code):
    """Get a region

    `code` may be dotted (`35.25.01`) or undotted (`352501`). Includes its ancestors.
    """
    region = ops.get_region(code)
    return {"code": region.code, "level": region.level, "name": region.name,
            "parent_code": region.parent_code, "bps_code": region.bps_code,
            "ancestors": ops.ancestors(region)}


@blp.route("/puskesmas")
@blp.arguments(schemas.PuskesmasListArgs, location="query")
@blp.response(200, schemas.PuskesmasPageSchema)
@roles_required(*STAFF_ROLES)
def list_puskesmas(args):
    """List puskesmas in your area

    Admin: all; dinkes: their kabupaten; puskesmas staff: their own; kader: the puskesmas of
    their posyandu.
    """
    return ops.list_puskesmas(current_scope(), kabupaten=args["kabupaten"], q=args["q"],
                              limit=args["limit"], cursor=args["cursor"])


@blp.route("/puskesmas/<int:puskesmas_id>")
@blp.response(200, schemas.PuskesmasDetailSchema)
@roles_required(*STAFF_ROLES)
def get_puskesmas(puskesmas_id):
    """Get a puskesmas with its working area (desa covered today)"""
    p = ops.get_puskesmas(current_scope(), puskesmas_id)
    return {"id": p.id, "code": p.code, "name": p.name, "kecamatan_code": p.kecamatan_code,
            "kabupaten_code": p.kabupaten_code, "desa_codes": ops.working_area(p.id)}


@blp.route("/posyandu")
@blp.arguments(schemas.PosyanduListArgs, location="query")
@blp.response(200, schemas.PosyanduPageSchema)
@roles_required(*STAFF_ROLES)
def list_posyandu(args):
    """List posyandu in your area

    Filters: `puskesmas_id`, `desa`, `kecamatan`, `kabupaten` (codes dotted or undotted), `q`
    (part of the name), `active`. Ordered by code; follow `next_cursor`. Each posyandu carries
    its zone (and WIB/WITA/WIT label), session rule with a description in Indonesian and
    English, and the next session.
    """
    return ops.list_posyandu(current_scope(), puskesmas_id=args["puskesmas_id"], desa=args["desa"],
                             kecamatan=args["kecamatan"], kabupaten=args["kabupaten"], q=args["q"],
                             active=args["active"], limit=args["limit"], cursor=args["cursor"])


@blp.route("/posyandu", methods=["POST"])
@blp.arguments(schemas.PosyanduCreateSchema)
@blp.response(201, schemas.PosyanduSchema)
@blp.alt_response(200, schema=schemas.PosyanduSchema, description="Retry of an identical create: the existing posyandu.")
@roles_required(*SUPERVISOR_ROLES)
def create_posyandu(data):
    """Create a posyandu

    Puskesmas staff (for their puskesmas), dinkes (their kabupaten) or admin. The desa must be
    in the puskesmas's working area. `timezone` omitted or null → derived from the province.
    Repeating the same request returns the existing posyandu (200); the same `code` with other
    values is a 409.
    """
    posyandu, created = ops.create_posyandu(current_scope(), data)
    return posyandu, (201 if created else 200)


@blp.route("/posyandu/<int:posyandu_id>")
@blp.response(200, schemas.PosyanduSchema)
@roles_required(*STAFF_ROLES)
def get_posyandu(posyandu_id):
    """Get a posyandu (kader: only their own)"""
    return ops.get_posyandu(current_scope(), posyandu_id)


@blp.route("/posyandu/<int:posyandu_id>", methods=["PATCH"])
@blp.arguments(schemas.PosyanduUpdateSchema)
@blp.response(200, schemas.PosyanduSchema)
@roles_required(*STAFF_ROLES)
def update_posyandu(data, posyandu_id):
    """Update a posyandu's name, address, schedule or time zone

    Puskesmas staff of its puskesmas, dinkes of its kabupaten or admin. `timezone: null`
    removes an override (the zone is derived from the province again). Changes are audited.
    """
    return ops.update_posyandu(current_scope(), posyandu_id, data)
