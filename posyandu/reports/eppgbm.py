"""The by-name monthly export in the e-PPGBM shape (reporting-id.md §3), streamed.

One row per target child (S) of the area and month (:func:`.cohort.month_children`) — by
default only those measured in the month (``include=all`` adds the others with empty
measurement cells) — with the child's identity fields ("data dasar") and the month's record
("pengukuran"): the last live weighing of the month, else the last live measurement (by date,
then entry time), as the report summary picks it. Values use e-PPGBM's Indonesian vocabulary
(L/P, berdiri/telentang, category labels); headers follow the language asked for.

**NIK** (child, mother) and **No. KK** appear as the caller's role may see them
(docs/children.md): in clear for puskesmas, dinkes and admin staff, who submit e-PPGBM data;
masked (``3525********0001``) for kader. ``nik=masked`` masks them for anyone; a kader asking
``nik=clear`` is refused (403). Every export with identifiers in clear writes one audit event
``export_identifiers`` (area, month; never values).

Rows come from one SELECT read with ``yield_per`` (a server-side cursor on PostgreSQL), so a
whole kabupaten streams with bounded memory; only decrypting identifiers is per row.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..audit.log import audit
from ..auth.scope import SUPERVISOR_ROLES
from ..children import crypto
from ..children.models import Child, ChildGuardian
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..measurements import assessment
from ..measurements.models import Measurement
from ..regions import codes
from ..regions.models import Posyandu, Puskesmas, Region
from .areas import Area, Month
from .cohort import latest_measurements, month_children, report_settings
from .document import Column, ReportDocument, Table
from .registry import register

M = Measurement
#: Rows fetched per round trip while streaming.
FETCH_ROWS = 1000

COLUMNS = [
    # --- data dasar (the child) ---
    Column("nik", "NIK anak", "Child NIK"),
    Column("kk_number", "No. KK", "Family card number"),
    Column("name", "Nama anak", "Child's name"),
    Column("birth_date", "Tanggal lahir", "Date of birth", "date"),
    Column("sex", "Jenis kelamin (L/P)", "Sex (L = male, P = female)"),
    Column("birth_order", "Anak ke-", "Birth order", "int"),
    Column("birth_weight_kg", "Berat lahir (kg)", "Birth weight (kg)", "float", 2),
    Column("birth_length_cm", "Panjang lahir (cm)", "Birth length (cm)", "float", 1),
    Column("mother_nik", "NIK ibu", "Mother's NIK"),
    Column("mother_name", "Nama ibu", "Mother's name"),
    Column("father_name", "Nama ayah", "Father's name"),
    Column("parent_phone", "No. HP orang tua", "Parent's phone"),
    Column("provinsi_code", "Kode provinsi", "Province code"),
    Column("provinsi_name", "Provinsi", "Province"),
    Column("kabupaten_code", "Kode kab/kota", "Regency/city code"),
    Column("kabupaten_name", "Kab/kota", "Regency/city"),
    Column("kecamatan_code", "Kode kecamatan", "District code"),
    Column("kecamatan_name", "Kecamatan", "District"),
    Column("desa_code", "Kode desa/kelurahan", "Village code"),
    Column("desa_name", "Desa/kelurahan", "Village"),
    Column("rt", "RT", "RT"),
    Column("rw", "RW", "RW"),
    Column("address", "Alamat", "Address"),
    Column("puskesmas_code", "Kode puskesmas", "Health centre code"),
    Column("puskesmas_name", "Puskesmas", "Health centre"),
    Column("posyandu_code", "Kode posyandu", "Posyandu code"),
    Column("posyandu_name", "Posyandu", "Posyandu"),
    Column("has_kia_book", "Memiliki buku KIA", "Has a KIA book", "bool"),
    # --- pengukuran (the month's record) ---
    Column("measured_on", "Tanggal pengukuran", "Measurement date", "date"),
    Column("age_months", "Umur (bulan)", "Age (months)", "int"),
    Column("weight_kg", "Berat badan (kg)", "Weight (kg)", "float", 2),
    Column("length_cm", "Tinggi/panjang badan (cm)", "Length/height (cm)", "float", 1),
    Column("measure_method", "Cara ukur", "Measured"),
    Column("arm_circumference_cm", "LiLA (cm)", "MUAC (cm)", "float", 1),
    Column("head_circumference_cm", "Lingkar kepala (cm)", "Head circumference (cm)", "float", 1),
    Column("status_bbu", "Status BB/U", "Weight-for-age status"),
    Column("zs_bbu", "ZS BB/U", "Weight-for-age z", "float", 2),
    Column("status_tbu", "Status TB/U", "Length/height-for-age status"),
    Column("zs_tbu", "ZS TB/U", "Length/height-for-age z", "float", 2),
    Column("status_bbtb", "Status BB/TB", "Weight-for-length/height status"),
    Column("zs_bbtb", "ZS BB/TB", "Weight-for-length/height z", "float", 2),
    Column("status_imtu", "Status IMT/U", "BMI-for-age status"),
    Column("zs_imtu", "ZS IMT/U", "BMI-for-age z", "float", 2),
    Column("status_lila", "Status LiLA", "MUAC status"),
    Column("flagged", "Nilai tidak wajar (WHO)", "Implausible value (WHO flag)", "bool"),
    Column("oedema", "Edema", "Oedema", "bool"),
    Column("trend_status", "N/T/O/B", "N/T/O/B"),
    Column("is_2t", "2T", "2T", "bool"),
    Column("is_bgm", "BGM", "Below the red line (BGM)", "bool"),
    Column("vitamin_a", "Vitamin A", "Vitamin A", "bool"),
    Column("exclusive_breastfeeding", "ASI eksklusif", "Exclusive breastfeeding", "bool"),
]
_METHOD = {"lying": "telentang", "standing": "berdiri"}
_CATEGORY_COLUMNS = (("status_bbu", "cat_bbu"), ("status_tbu", "cat_tbu"), ("status_bbtb", "cat_bbtb"),
                     ("status_imtu", "cat_imtu"), ("status_lila", "cat_lila"))


def nik_visibility(scope, requested: str | None) -> str:
    """``"clear"`` or ``"masked"``: what this caller gets (403 for clear beyond the role)."""
    if requested not in (None, "", "clear", "masked"):
        raise InvalidInput("nik is 'clear' or 'masked'.", errors={"nik": ["Must be one of: clear, masked."]})
    allowed = scope.role in SUPERVISOR_ROLES
    if requested == "clear" and not allowed:
        raise Forbidden("Only puskesmas, dinkes or admin staff can export identifiers in full.")
    if requested == "masked" or not allowed:
        return "masked"
    return "clear"


def _include(value: str | None) -> str:
    if value in (None, "", "measured", "all"):
        return value or "measured"
    raise InvalidInput("include is 'measured' or 'all'.", errors={"include": ["Must be one of: measured, all."]})


def export_query(area: Area, month: Month, *, include: str = "measured"):
    """The SELECT of the export's raw rows (identifiers still encrypted), in posyandu order."""
    start, end = month.first_day, month.last_day
    registered = month_children(area, month, name="registered_eppgbm")
    registered_ids = sa.select(registered.c.child_id)

    def in_month(m):
        return sa.and_(m.deleted_at.is_(None), m.measured_on >= start, m.measured_on <= end,
                       m.child_id.in_(registered_ids))
    record = latest_measurements(
        in_month, lambda m: (sa.case((m.weight_kg.is_(None), 0), else_=1), m.measured_on, m.created_at, m.id),
        lambda m: (m.child_id, m.measured_on, m.age_months, m.weight_kg, m.length_cm, m.measure_method,
                   m.arm_circumference_cm, m.head_circumference_cm, m.cat_bbu, m.cat_tbu, m.cat_bbtb, m.cat_imtu,
                   m.cat_lila, m.zwei, m.zlen, m.zwfl, m.zbmi, m.fwei, m.flen, m.fwfl, m.fbmi, m.fac, m.oedema,
                   m.trend_status, m.is_2t, m.is_bgm, m.exclusive_breastfeeding), "record")
    vita = (sa.select(M.child_id, sa.func.max(sa.case((M.vitamin_a.is_(True), 1), else_=0)).label("vita"))
            .where(in_month(M)).group_by(M.child_id).subquery("vita"))
    place = aliased(Posyandu)
    desa, kecamatan, kabupaten, provinsi = (aliased(Region) for _ in range(4))
    phone = (sa.select(ChildGuardian.phone).where(ChildGuardian.child_id == Child.id)
             .order_by(ChildGuardian.id).limit(1).scalar_subquery())
    query = (
        sa.select(Child.id, Child.name, Child.sex, Child.birth_date, Child.birth_order, Child.birth_weight_kg,
                  Child.birth_length_cm, Child.nik_encrypted, Child.nik_masked, Child.kk_encrypted, Child.kk_masked,
                  Child.mother_nik_encrypted, Child.mother_nik_masked, Child.mother_name, Child.father_name,
                  Child.rt, Child.rw, Child.address, Child.has_kia_book, Child.desa_code,
                  desa.name.label("desa_name"), kecamatan.name.label("kecamatan_name"),
                  kabupaten.name.label("kabupaten_name"), provinsi.name.label("provinsi_name"),
                  phone.label("parent_phone"),
                  Puskesmas.code.label("puskesmas_code"), Puskesmas.name.label("puskesmas_name"),
                  place.code.label("posyandu_code"), place.name.label("posyandu_name"),
                  record.c.measured_on, record.c.age_months, record.c.weight_kg, record.c.length_cm,
                  record.c.measure_method, record.c.arm_circumference_cm, record.c.head_circumference_cm,
                  record.c.cat_bbu, record.c.cat_tbu, record.c.cat_bbtb, record.c.cat_imtu, record.c.cat_lila,
                  record.c.zwei, record.c.zlen, record.c.zwfl, record.c.zbmi,
                  record.c.fwei, record.c.flen, record.c.fwfl, record.c.fbmi, record.c.fac,
                  record.c.oedema, record.c.trend_status, record.c.is_2t, record.c.is_bgm, vita.c.vita,
                  record.c.exclusive_breastfeeding)
        .select_from(registered)
        .join(Child, Child.id == registered.c.child_id)
        .join(place, place.id == registered.c.posyandu_id)
        .join(Puskesmas, Puskesmas.id == place.puskesmas_id)
        .outerjoin(desa, desa.code == Child.desa_code)
        .outerjoin(kecamatan, kecamatan.code == sa.func.substr(Child.desa_code, 1, 6))
        .outerjoin(kabupaten, kabupaten.code == sa.func.substr(Child.desa_code, 1, 4))
        .outerjoin(provinsi, provinsi.code == sa.func.substr(Child.desa_code, 1, 2))
        .outerjoin(record, record.c.child_id == registered.c.child_id)
        .outerjoin(vita, vita.c.child_id == registered.c.child_id)
        .order_by(Puskesmas.name, Puskesmas.code, place.name, place.code, Child.name_key, Child.birth_date, Child.id))
    if include == "measured":
        query = query.where(record.c.child_id.is_not(None))
    return query


def _identifier(encrypted, masked, clear: bool):
    if clear:
        return crypto.decrypt(encrypted) if encrypted else None
    return masked


def _z(value, flag):
    return None if value is None or flag else value


def rows(area: Area, month: Month, *, nik: str = "masked", include: str = "measured"):
    """Generator of export rows (dicts keyed by column key), read ``FETCH_ROWS`` at a time."""
    labels = assessment.labels()["categories"]
    clear = nik == "clear"
    report_settings()
    if db.session.get_bind().dialect.name == "postgresql":
        # a server-side cursor is planned for its first 10 % of rows by default (a nested-loop
        # plan ~6x slower for the whole export); we read every row
        db.session.execute(sa.text("SET LOCAL cursor_tuple_fraction = 1.0"))
    result = db.session.execute(export_query(area, month, include=include)
                                .execution_options(yield_per=FETCH_ROWS, stream_results=True))
    try:
        for r in result:
            desa_code = r.desa_code or ""
            out = {
                "nik": _identifier(r.nik_encrypted, r.nik_masked, clear),
                "kk_number": _identifier(r.kk_encrypted, r.kk_masked, clear),
                "mother_nik": _identifier(r.mother_nik_encrypted, r.mother_nik_masked, clear),
                "name": r.name, "birth_date": r.birth_date, "sex": "L" if r.sex == 1 else "P",
                "birth_order": r.birth_order, "birth_weight_kg": r.birth_weight_kg,
                "birth_length_cm": r.birth_length_cm, "mother_name": r.mother_name, "father_name": r.father_name,
                "parent_phone": r.parent_phone,
                "provinsi_code": codes.dotted(desa_code[:2]) if desa_code else None, "provinsi_name": r.provinsi_name,
                "kabupaten_code": codes.dotted(desa_code[:4]) if desa_code else None,
                "kabupaten_name": r.kabupaten_name,
                "kecamatan_code": codes.dotted(desa_code[:6]) if desa_code else None,
                "kecamatan_name": r.kecamatan_name,
                "desa_code": codes.dotted(desa_code) if desa_code else None, "desa_name": r.desa_name,
                "rt": r.rt, "rw": r.rw, "address": r.address,
                "puskesmas_code": r.puskesmas_code, "puskesmas_name": r.puskesmas_name,
                "posyandu_code": r.posyandu_code, "posyandu_name": r.posyandu_name,
                "has_kia_book": r.has_kia_book,
            }
            if r.measured_on is not None:
                out.update({
                    "measured_on": r.measured_on, "age_months": r.age_months, "weight_kg": r.weight_kg,
                    "length_cm": r.length_cm, "measure_method": _METHOD.get(r.measure_method),
                    "arm_circumference_cm": r.arm_circumference_cm,
                    "head_circumference_cm": r.head_circumference_cm,
                    "zs_bbu": _z(r.zwei, r.fwei), "zs_tbu": _z(r.zlen, r.flen), "zs_bbtb": _z(r.zwfl, r.fwfl),
                    "zs_imtu": _z(r.zbmi, r.fbmi),
                    "flagged": bool(r.fwei or r.flen or r.fwfl or r.fbmi or r.fac),
                    "oedema": r.oedema, "trend_status": r.trend_status, "is_2t": r.is_2t, "is_bgm": r.is_bgm,
                    "vitamin_a": bool(r.vita), "exclusive_breastfeeding": r.exclusive_breastfeeding,
                })
                for key, column in _CATEGORY_COLUMNS:
                    code = getattr(r, column)
                    out[key] = labels.get(code, (code,))[0] if code else None
            yield out
    finally:
        result.close()


@register("eppgbm", title_id="Data by-name e-PPGBM", title_en="By-name e-PPGBM data", options=("nik", "include"),
          by_name=True,
          description_en="One row per target child of the month in the e-PPGBM shape: identity fields (NIK as your "
                         "role may see it) and the month's measurement and statuses. Streamed.")
def eppgbm_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    nik = nik_visibility(scope, options.get("nik"))
    include = _include(options.get("include"))
    if nik == "clear":
        audit("export_identifiers", "report", f"eppgbm:{area.level}:{area.code}"[:40],
              changes={"month": [None, str(month)], "identifiers": [None, ["kk_number", "mother_nik", "nik"]],
                       "include": [None, include]},
              posyandu_id=area.key if area.level == "posyandu" else None, user_id=scope.user_id)
    notes_id = ["Satu baris per anak sasaran bulan ini" + (" yang diukur" if include == "measured" else "") +
                "; pengukuran = penimbangan terakhir bulan ini (atau pengukuran terakhir).",
                "NIK dan No. KK " + ("lengkap (akses tercatat di audit)." if nik == "clear" else "disamarkan.")]
    notes_en = ["One row per target child of the month" + (" who was measured" if include == "measured" else "") +
                "; measurement = the month's last weighing (else its last measurement).",
                "NIK and family card number " + ("in full (the access is audited)." if nik == "clear" else "masked.")]
    return ReportDocument(
        kind="eppgbm", title_id="Data by-name e-PPGBM", title_en="By-name e-PPGBM data", area=area.as_dict(),
        period=str(month),
        tables=[Table("children", "e-PPGBM", "e-PPGBM", COLUMNS, rows(area, month, nik=nik, include=include),
                      notes_id=notes_id, notes_en=notes_en)])
