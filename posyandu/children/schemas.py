"""Edge schemas of the child registry.

Sex uses the WHO/anthro coding of the model and of ``/sync/pull``: 1 = male (laki-laki),
2 = female (perempuan). Identifiers are accepted in clear on input (``nik``, ``mother_nik``,
``kk_number``; spaces/dots/dashes are ignored) and answered only masked (``nik_masked`` …),
except on the audited reveal (``GET /children/{id}?reveal=nik``, puskesmas/dinkes/admin).

Two audiences: staff (:class:`ChildSchema`) and parents (:class:`ParentChildSchema`: their own
child only, no identifiers, no guardian phones, no address).
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..i18n import localize_warning, translate
from ..schema_fields import RegionCode, Sex
from .models import CLOSE_REASONS

RELATIONSHIPS = ("mother", "father", "grandparent", "guardian", "other")
#: Reasons staff may close a record with; ``merged`` is set only by a merge.
MANUAL_CLOSE_REASONS = tuple(r for r in CLOSE_REASONS if r != "merged")
_RT_RW = validate.Regexp(r"^\d{1,3}$", error="RT/RW is 1 to 3 digits.")


class GuardianInSchema(ma.Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=30),
                          metadata={"description": "Any Indonesian notation (0812…, 62812…, +62 812…); "
                                                   "stored as E.164 (+62812…)."})
    relationship = fields.String(load_default="mother", validate=validate.OneOf(RELATIONSHIPS))


class ChildFieldsSchema(ma.Schema):
    """The editable fields (all optional here; the create schema makes the core ones required)."""

    name = fields.String(validate=validate.Length(min=1, max=120))
    sex = Sex()
    birth_date = fields.Date()
    birth_weight_kg = fields.Float(allow_none=True, validate=validate.Range(min=0.3, max=7.0))
    birth_length_cm = fields.Float(allow_none=True, validate=validate.Range(min=20, max=65))
    birth_order = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=25),
                                 metadata={"description": "Anak ke-"})
    nik = fields.String(allow_none=True, validate=validate.Length(max=40),
                        metadata={"description": "The child's NIK, 16 digits (optional: newborns often have none)."})
    mother_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    mother_nik = fields.String(allow_none=True, validate=validate.Length(max=40))
    father_name = fields.String(allow_none=True, validate=validate.Length(max=120))
    kk_number = fields.String(allow_none=True, validate=validate.Length(max=40),
                              metadata={"description": "Family card (Kartu Keluarga) number, 16 digits."})
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    rt = fields.String(allow_none=True, validate=_RT_RW)
    rw = fields.String(allow_none=True, validate=_RT_RW)
    desa_code = RegionCode(level="desa", allow_none=True,
                           metadata={"description": "Kemendagri desa/kelurahan code where the child lives; "
                                                    "defaults to the posyandu's desa (null on update: back to it)"})
    has_kia_book = fields.Boolean(allow_none=True)
    guardians = fields.List(fields.Nested(GuardianInSchema), validate=validate.Length(max=6),
                            metadata={"description": "Parent/guardian phones. On update the list replaces "
                                                     "the current one."})
    client_updated_at = fields.AwareDateTime(allow_none=True)


class ChildCreateSchema(ChildFieldsSchema):
    id = fields.UUID(required=True, metadata={"description": "Client-generated UUID (idempotency key)."})
    posyandu_id = fields.Integer(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    sex = Sex(required=True)
    birth_date = fields.Date(required=True)


class ChildUpdateSchema(ChildFieldsSchema):
    id = fields.UUID(metadata={"description": "Optional; must be the child's id when sent."})
    posyandu_id = fields.Integer(metadata={"description": "Optional; must be the current posyandu "
                                                          "(use POST /children/{id}/move to change it)."})
    base_version = fields.Integer(allow_none=True, validate=validate.Range(min=1),
                                  metadata={"description": "The version the edit started from; "
                                                           "409 with the server copy when it is stale."})


class GuardianOutSchema(ma.Schema):
    phone = fields.String()
    relationship = fields.String(attribute="relationship_kind")
    linked = fields.Function(lambda g: g.user_id is not None,
                             metadata={"description": "A parent account with this phone exists."})


class ChildSchema(ma.Schema):
    """Staff view: identifiers masked; revealed ones appear only after ``?reveal=nik``."""

    id = fields.UUID()
    posyandu_id = fields.Integer()
    name = fields.String()
    sex = fields.Integer(metadata={"description": "1 = laki-laki (male), 2 = perempuan (female)"})
    birth_date = fields.Date()
    birth_weight_kg = fields.Float(allow_none=True)
    birth_length_cm = fields.Float(allow_none=True)
    birth_order = fields.Integer(allow_none=True)
    has_nik = fields.Function(lambda c: c.nik_hmac is not None)
    nik_masked = fields.String(allow_none=True)
    mother_name = fields.String(allow_none=True)
    mother_nik_masked = fields.String(allow_none=True)
    father_name = fields.String(allow_none=True)
    kk_masked = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    rt = fields.String(allow_none=True)
    rw = fields.String(allow_none=True)
    desa_code = RegionCode(level="desa")
    has_kia_book = fields.Boolean(allow_none=True)
    guardians = fields.List(fields.Nested(GuardianOutSchema))
    status = fields.String()
    closed_reason = fields.String(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    merged_into_id = fields.UUID(allow_none=True)
    version = fields.Integer()
    client_updated_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    nik = fields.Function(lambda c: (getattr(c, "_revealed", None) or {}).get("nik"),
                          metadata={"description": "Only with ?reveal=nik (puskesmas/dinkes/admin; audited)."})
    mother_nik = fields.Function(lambda c: (getattr(c, "_revealed", None) or {}).get("mother_nik"),
                                 metadata={"description": "Only with ?reveal=nik."})
    kk_number = fields.Function(lambda c: (getattr(c, "_revealed", None) or {}).get("kk_number"),
                                metadata={"description": "Only with ?reveal=nik."})

    @ma.post_dump(pass_original=True)
    def _drop_unrevealed(self, data, original, **kwargs):
        if getattr(original, "_revealed", None) is None:
            for key in ("nik", "mother_nik", "kk_number"):
                data.pop(key, None)
        return data


class WarningSchema(ma.Schema):
    code = fields.String()
    field = fields.String(allow_none=True)
    message = fields.Function(lambda w: translate(w.get("message")),
                              metadata={"type": "string", "description": "In the caller's language."})
    level = fields.String()
    candidates = fields.List(fields.Dict())


class ChildWriteSchema(ChildSchema):
    """A created/updated child with its warnings (NIK inconsistencies, possible duplicates)."""

    warnings = fields.Function(lambda c: [localize_warning(w) for w in getattr(c, "_warnings", None) or ()],
                               metadata={"description": "[{code, field, message, candidates?}]: "
                                                        "nik_birth_date_mismatch, nik_sex_mismatch, "
                                                        "nik_region_mismatch, mother_nik_not_female, "
                                                        "missing_identifier, nik_already_registered, "
                                                        "possible_duplicate"})


class ParentChildSchema(ma.Schema):
    """Parent view of their own child: no identifiers, phones or address."""

    id = fields.UUID()
    posyandu_id = fields.Integer()
    name = fields.String()
    sex = fields.Integer()
    birth_date = fields.Date()
    birth_weight_kg = fields.Float(allow_none=True)
    birth_length_cm = fields.Float(allow_none=True)
    birth_order = fields.Integer(allow_none=True)
    mother_name = fields.String(allow_none=True)
    father_name = fields.String(allow_none=True)
    has_kia_book = fields.Boolean(allow_none=True)
    status = fields.String()
    closed_reason = fields.String(allow_none=True)
    version = fields.Integer()


class ChildListQuerySchema(ma.Schema):
    posyandu_id = fields.Integer()
    status = fields.String(load_default="active", validate=validate.OneOf(["active", "closed", "all"]))
    sex = Sex()
    age_min_months = fields.Integer(validate=validate.Range(min=0, max=300),
                                    metadata={"description": "Completed months of age, today (UTC date)."})
    age_max_months = fields.Integer(validate=validate.Range(min=0, max=300))
    has_nik = fields.Boolean()
    q = fields.String(validate=validate.Length(min=1, max=120),
                      metadata={"description": "Name filter: every word must appear in the spelling-"
                                               "normalised name. For ranked tolerant search use "
                                               "POST /children/search."})
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))

    @ma.validates_schema
    def _age_range(self, data, **kwargs):
        low, high = data.get("age_min_months"), data.get("age_max_months")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must be at least age_min_months.", "age_max_months")


class ChildListSchema(ma.Schema):
    items = fields.List(fields.Nested(ChildSchema))
    next_cursor = fields.String(allow_none=True)


class ParentChildListSchema(ma.Schema):
    items = fields.List(fields.Nested(ParentChildSchema))
    next_cursor = fields.String(allow_none=True)


class DetailQuerySchema(ma.Schema):
    reveal = fields.String(validate=validate.OneOf(["nik"]),
                           metadata={"description": "`nik`: include nik, mother_nik and kk_number in clear "
                                                    "(puskesmas, dinkes, admin only; audited)."})


class SearchSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    mother_name = fields.String(validate=validate.Length(min=1, max=120))
    birth_date = fields.Date(metadata={"description": "Narrows to ±31 days around it."})
    nik = fields.String(validate=validate.Length(max=40), metadata={"description": "Exact match (HMAC)."})
    mother_nik = fields.String(validate=validate.Length(max=40))
    posyandu_id = fields.Integer()
    include_closed = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))

    @ma.validates_schema
    def _something_to_search(self, data, **kwargs):
        if not any(data.get(k) for k in ("name", "nik", "mother_nik")):
            raise ma.ValidationError("Give a name, a NIK or a mother's NIK to search for.", "name")


class SearchHitSchema(ChildSchema):
    score = fields.Function(lambda c: getattr(c, "_score", None))


class SearchResultSchema(ma.Schema):
    items = fields.List(fields.Nested(SearchHitSchema))


class CandidateSchema(ma.Schema):
    id = fields.String()
    name = fields.String()
    sex = fields.Integer()
    birth_date = fields.String()
    mother_name = fields.String(allow_none=True)
    posyandu_id = fields.Integer()
    score = fields.Float()
    reasons = fields.List(fields.String())


class DuplicatesSchema(ma.Schema):
    candidates = fields.List(fields.Nested(CandidateSchema))


class MoveSchema(ma.Schema):
    posyandu_id = fields.Integer(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=255))
    moved_on = fields.Date(allow_none=True, metadata={"description": "Defaults to today."})
    desa_code = RegionCode(level="desa", allow_none=True,
                           metadata={"description": "Where the child now lives; defaults to the new "
                                                    "posyandu's desa"})


class CloseSchema(ma.Schema):
    reason = fields.String(required=True, validate=validate.OneOf(MANUAL_CLOSE_REASONS))
    closed_on = fields.Date(allow_none=True, metadata={"description": "Defaults to today."})


class MergeSchema(ma.Schema):
    duplicate_id = fields.UUID(required=True, metadata={"description": "The record to fold into this one."})


class TransferSchema(ma.Schema):
    from_posyandu_id = fields.Integer()
    to_posyandu_id = fields.Integer()
    moved_on = fields.Date()
    reason = fields.String(allow_none=True)
    moved_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class TransferListSchema(ma.Schema):
    items = fields.List(fields.Nested(TransferSchema))
