"""The area picker: the way up (areas above, as far as the caller's scope reaches) and the
areas below, in both hierarchies (kabupaten › kecamatan › desa › posyandu, and
kabupaten › puskesmas › posyandu). Only areas ``resolve_area`` accepts for the caller are
offered, so every link opens."""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import NotFound
from ..extensions import db
from ..regions import codes
from ..regions.models import Posyandu, Puskesmas, Region
from ..reports.areas import Area, resolve_area


def _region_area(level: str, code: str, name: str) -> Area:
    return Area(level, code, codes.dotted(code), name)


def _in_scope(scope, area: Area) -> bool:
    try:
        resolve_area(scope, area.level, area.code)
    except NotFound:
        return False
    return True


def breadcrumbs(scope, area: Area) -> list[Area]:
    """The areas above ``area`` that the caller may open, top first (the area itself last)."""
    chain: list[Area] = []
    if area.level == "posyandu":
        p = db.session.get(Posyandu, area.key)
        pk = db.session.get(Puskesmas, p.puskesmas_id)
        chain = [_kabupaten(p.kabupaten_code), Area("puskesmas", pk.id, pk.code, pk.name)]
    elif area.level == "puskesmas":
        pk = db.session.get(Puskesmas, area.key)
        chain = [_kabupaten(pk.kabupaten_code)]
    elif area.level in ("kecamatan", "desa"):
        code = area.key
        while True:
            parent = codes.parent_of(code)
            if parent is None or len(parent) < 4:
                break
            region = db.session.get(Region, parent)
            if region is None:
                break
            chain.insert(0, _region_area(region.level, region.code, region.name))
            if region.level == "kabupaten":
                break
            code = parent
    chain = [a for a in chain if a is not None and _in_scope(scope, a)]
    return chain + [area]


def _kabupaten(code: str) -> Area | None:
    region = db.session.get(Region, code)
    return _region_area("kabupaten", region.code, region.name) if region else None


def sub_areas(scope, area: Area) -> dict[str, list[Area]]:
    """``{level: [areas]}`` directly below ``area`` in each hierarchy, those in scope only."""
    below: dict[str, list[Area]] = {}
    in_area = area.posyandu_condition()
    if area.level == "kabupaten":
        kecamatan = db.session.execute(
            sa.select(Region.code, Region.name).where(Region.parent_code == area.key, Region.level == "kecamatan")
            .order_by(Region.code)).all()
        below["kecamatan"] = [_region_area("kecamatan", r.code, r.name) for r in kecamatan]
        puskesmas = db.session.execute(
            sa.select(Puskesmas.id, Puskesmas.code, Puskesmas.name).where(Puskesmas.kabupaten_code == area.key)
            .order_by(Puskesmas.code)).all()
        below["puskesmas"] = [Area("puskesmas", r.id, r.code, r.name) for r in puskesmas]
    elif area.level == "kecamatan":
        desa = db.session.execute(
            sa.select(Region.code, Region.name).where(Region.parent_code == area.key, Region.level == "desa")
            .order_by(Region.code)).all()
        below["desa"] = [_region_area("desa", r.code, r.name) for r in desa]
    if area.level == "puskesmas":  # the desa of its working area
        from ..regions.models import PuskesmasDesa
        desa = db.session.execute(
            sa.select(Region.code, Region.name).join(PuskesmasDesa, PuskesmasDesa.desa_code == Region.code)
            .where(PuskesmasDesa.puskesmas_id == area.key, PuskesmasDesa.valid_to.is_(None))
            .distinct().order_by(Region.code)).all()
        below["desa"] = [_region_area("desa", r.code, r.name) for r in desa]
    if area.level in ("desa", "puskesmas"):
        posyandu = db.session.execute(
            sa.select(Posyandu.id, Posyandu.code, Posyandu.name).where(in_area, scope.posyandu_clause(Posyandu.id))
            .order_by(Posyandu.code)).all()
        below["posyandu"] = [Area("posyandu", r.id, r.code, r.name) for r in posyandu]
    if scope.role in ("admin", "dinkes"):
        return below
    # Puskesmas staff and kader: keep only what resolve_area lets them open.
    return {level: [a for a in areas if _in_scope(scope, a)] for level, areas in below.items()}


def kabupaten_choices(scope) -> list[Area]:
    """Admins pick among every kabupaten."""
    if scope.role != "admin":
        return []
    rows = db.session.execute(sa.select(Region.code, Region.name).where(Region.level == "kabupaten")
                              .order_by(Region.code)).all()
    return [_region_area("kabupaten", r.code, r.name) for r in rows]
