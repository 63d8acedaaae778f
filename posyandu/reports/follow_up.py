"""Follow-up lists, by name (issue 8 §3): the children of an area to act on this month, and why.

Who: the target children (S) of the area and month (:func:`.cohort.month_children`: placed at
their posyandu of the month's last day, under five, registered by then). Why: the reasons of
``posyandu.core.follow_up`` (gizi buruk to refer, wasted, stunted new/known, underweight, BGM,
2T, not weighed, not weighed for two months or more, early warning). A child with at least one
reason (or with the reason asked for) is listed, once, with all her reasons.

How (kabupaten scale, 100,000 children): one SELECT per slice of posyandu. The innermost part
is the slice's cohort sorted by the keyset (posyandu code, the name's sort key, child id) behind
an ``OFFSET 0`` fence, so the database sorts those children (cheap: no measurement read) and
only then probes, child by child in that order, her month's summary row and her measurements by
index (``ix_measurement_child_date``) until the page is full: a page costs the slice's sort plus
a few index probes per child looked at, not a pass over the measurement table. The next page
starts after
the cursor's key (a stable keyset: no duplicates or gaps while data do not change).
:func:`_reason_query` (and :func:`_candidates`, its filter) is the only place that knows how the
month's values are read: the month's record from the report summary ``report_child_month``
(``summary.py``, kept at write time), the rest from ``measurement`` by index.

A page of a large area is read posyandu by posyandu in code order (slices of 8, 16, 32, ...
posyandu, each read by index; :func:`_page_rows`), so the first page of a kabupaten never sorts
its 100,000 children; a filter on rare reasons narrows each slice by index first.

Early warning is evaluated in Python from each child's history (``early_warning.operations.
evaluate``: about 4-6 s for a whole kabupaten). A page evaluates only the posyandu of its slices;
a download, the whole area. It is included by default for a posyandu, desa or puskesmas, and for
a kecamatan or kabupaten only when asked (``early_warning=true`` or ``reason=early_warning``), so
their first page stays as cheap as it can be. The answer says whether it was included.

Identity: the staff view of the child registry (``nik_masked``, ``has_nik``: docs/children.md);
the download may carry NIKs in clear for puskesmas, dinkes and admin staff who ask
``nik=clear`` (kader: 403), and then writes one audit event ``export_identifiers``, as the
e-PPGBM export does. Masked lists are not audited (like the e-PPGBM export and the child list).
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import uuid
from datetime import timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..audit.log import audit
from ..auth.scope import SUPERVISOR_ROLES
from ..children import crypto
from ..children.models import Child, ChildTransfer
from ..core import follow_up as fu
from ..core.growth.trend import completed_months
from ..db import utcnow
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..measurements import assessment
from ..measurements.models import Measurement
from ..regions.models import Posyandu
from .areas import Area, Month, PosyanduSet
from .cohort import month_children, report_settings
from .document import Column, ReportDocument, Table
from .models import ReportChildMonth
from .registry import register

M = Measurement
API = "/api/v1"
#: Area levels whose list includes early warning unless told otherwise.
EARLY_WARNING_LEVELS = ("posyandu", "desa", "puskesmas")
DEFAULT_LIMIT, MAX_LIMIT = 50, 500
FETCH_ROWS = 1000
_WIT = timezone(timedelta(hours=9))


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------
def reason_codes(value: str | None) -> tuple[str, ...]:
    """The reasons a ``reason`` filter selects (all when none); 422 for an unknown one."""
    if value in (None, ""):
        return fu.REASON_CODES
    if value not in fu.REASON_CODES and value not in fu.REASON_GROUPS:
        allowed = ", ".join((*fu.REASON_CODES, *fu.REASON_GROUPS))
        raise InvalidInput(f"Unknown reason {value!r}.", errors={"reason": [f"Must be one of: {allowed}."]})
    return fu.expand(value)


def include_early_warning(area: Area, reasons: tuple[str, ...], asked: bool | None) -> bool:
    """Whether the early-warning reason is evaluated: always when it is the reason asked for;
    else as asked; by default up to a puskesmas (the first page of a kecamatan or kabupaten
    stays as cheap as it can be; asked for, a page evaluates only the posyandu it reads, but a
    download evaluates the whole area: seconds, and its whole history in memory)."""
    if reasons == ("early_warning",):
        return True
    if "early_warning" not in reasons:
        return False
    return area.level in EARLY_WARNING_LEVELS if asked is None else bool(asked)


def parse_flag(value, field: str = "early_warning") -> bool | None:
    """A yes/no option from a query string or the CLI (``true``/``false``/``1``/``0``)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "ya"):
        return True
    if text in ("false", "0", "no", "tidak"):
        return False
    raise InvalidInput(f"{field} is true or false.", errors={field: ["Must be true or false."]})


def encode_cursor(key: tuple) -> str:
    code, name_sort, child_id = key
    raw = json.dumps([code, name_sort, str(child_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        code, name_sort, child = json.loads(raw)
        if not isinstance(code, str) or not isinstance(name_sort, str):
            raise ValueError
        return code, name_sort, uuid.UUID(child)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("The cursor is not one this list returned: start again without it.",
                           errors={"cursor": ["Not a cursor returned by this list."]}) from None


def as_of(month: Month) -> _dt.date:
    """The day ages are given for: the month's last day, or today for the current month."""
    return min(utcnow().astimezone(_WIT).date(), month.last_day)


# ---------------------------------------------------------------------------------------------
# the query
# ---------------------------------------------------------------------------------------------
def _reason_query(area: Area, month: Month, *, reasons: tuple[str, ...], early_warning_ids=None,
                  after: tuple | None = None, limit: int | None = None, posyandu_ids=None, moved_after_ids=()):
    """The SELECT of listed rows (keyset order), with one 0/1 column ``r_<code>`` per reason and
    the values the reasons show; ``posyandu_ids``: only the children placed at these posyandu
    of the area (a slice read by index). The one function that reads the month's values: switch
    it to a per-child-month summary table without touching the rest."""
    start, end = month.first_day, month.last_day
    previous_start = month.shift(-1).first_day
    start_at = _dt.datetime.combine(start, _dt.time(0), tzinfo=_dt.timezone.utc)
    where = area if posyandu_ids is None else PosyanduSet(posyandu_ids)
    cohort = month_children(where, month, name="follow_up_cohort")
    place = aliased(Posyandu)
    key = (place.code, Child.name_sort, Child.id)
    # only the keys are sorted (narrow rows: 100,000 of them sort in memory); the child's other
    # columns are read by primary key for the rows a page looks at
    inner = (sa.select(cohort.c.child_id, cohort.c.posyandu_id, place.code.label("posyandu_code"),
                      place.name.label("posyandu_name"), Child.name_sort, Child.birth_date, Child.created_at)
             .join(Child, Child.id == cohort.c.child_id)
             .join(place, place.id == cohort.c.posyandu_id))
    if after is not None:
        inner = inner.where(sa.tuple_(*key) > sa.tuple_(*(sa.bindparam(None, v, type_=c.type)
                                                          for c, v in zip(key, after))))
    if posyandu_ids is not None:
        # the same placement, said so that the children of the slice are read by index: now at
        # one of these posyandu, or handed over since the month's end (ids known beforehand)
        here = Child.posyandu_id.in_(list(posyandu_ids))
        inner = inner.where(sa.or_(here, Child.id.in_(list(moved_after_ids))) if moved_after_ids else here)
    narrowed = _candidates(posyandu_ids, month, reasons, early_warning_ids)
    if narrowed is not None:
        inner = inner.where(cohort.c.child_id.in_(narrowed))
    # the fence: sort the cohort first, probe measurements only for the rows the page reads
    ordered = inner.order_by(*key).offset(0).subquery("ordered")
    o = ordered.c

    def latest(where, *, name):
        m = aliased(M, name=name)
        return (sa.select(m.id).where(m.child_id == o.child_id, m.deleted_at.is_(None), *where(m))
                .order_by(m.measured_on.desc(), m.created_at.desc(), m.id.desc()).limit(1).scalar_subquery())

    month_row = aliased(ReportChildMonth, name="month_row")
    # the month's record: the report summary's row of the month (report_child_month, kept at
    # write time), else the last measurement before the month
    record_before = latest(lambda m: (m.measured_on < start,), name="m_before")
    length_last = latest(lambda m: (m.cat_tbu.is_not(None), m.measured_on <= end), name="m_length")
    length_before = latest(lambda m: (m.cat_tbu.is_not(None), m.measured_on < start), name="m_length_before")

    person = aliased(Child, name="person")
    rec, ln, prev = aliased(M, name="rec"), aliased(M, name="len"), aliased(M, name="prev")
    weighed_before = aliased(M, name="m_weighed")
    this_month = rec.measured_on >= start
    weighed = sa.and_(this_month, rec.weight_kg.is_not(None))
    last_weighed = (sa.select(sa.func.max(weighed_before.measured_on))
                    .where(weighed_before.child_id == o.child_id, weighed_before.deleted_at.is_(None),
                           weighed_before.weight_kg.is_not(None), weighed_before.measured_on < start)
                    .scalar_subquery())
    last_weighed_on = sa.case((weighed, rec.measured_on), else_=last_weighed)
    severe = sa.and_(this_month, sa.or_(rec.cat_bbtb == fu.SEVERELY_WASTED, rec.cat_lila == fu.MUAC_SEVERE,
                                        rec.oedema.is_(True)))
    stunted = ln.cat_tbu.in_(fu.STUNTED)
    new_episode = sa.and_(ln.measured_on >= start,
                          sa.or_(prev.id.is_(None), prev.cat_tbu.not_in(fu.STUNTED)))
    not_weighed = sa.not_(sa.func.coalesce(weighed, sa.false()))
    # two months or more: last weighed before last month; never weighed: a target child (born
    # and registered) before this month, so she missed last month too (fu.months_without_weighing)
    two_months = sa.or_(last_weighed < previous_start,
                        sa.and_(last_weighed.is_(None), o.birth_date < start, o.created_at < start_at))
    conditions = {
        "severe_wasting": severe,
        "wasted": sa.and_(this_month, sa.not_(sa.func.coalesce(severe, sa.false())),
                          sa.or_(rec.cat_bbtb == fu.WASTED, rec.cat_lila == fu.MUAC_MODERATE)),
        "stunted_new": sa.and_(stunted, new_episode),
        "stunted_known": sa.and_(stunted, sa.not_(sa.func.coalesce(new_episode, sa.false()))),
        "underweight": sa.and_(this_month, rec.cat_bbu.in_(fu.UNDERWEIGHT)),
        "bgm": sa.and_(this_month, rec.is_bgm.is_(True)),
        "two_t": sa.and_(this_month, rec.is_2t.is_(True)),
        "not_weighed": sa.and_(not_weighed, sa.not_(sa.func.coalesce(two_months, sa.false()))),
        "not_weighed_2m": sa.and_(not_weighed, two_months),
        "early_warning": (o.child_id.in_(sa.bindparam("ew_ids", list(early_warning_ids), expanding=True,
                                                      type_=Child.id.type))
                          if early_warning_ids else sa.false()),
    }
    if not early_warning_ids:
        reasons = tuple(r for r in reasons if r != "early_warning")
    flags = [sa.case((conditions[code], 1), else_=0).label(f"r_{code}") for code in fu.REASON_CODES]
    query = (sa.select(
        *o, person.name, person.sex, person.nik_masked, person.nik_hmac, person.nik_encrypted, person.mother_name,
        person.address, person.rt, person.rw,
        rec.id.label("m_id"), rec.measured_on.label("m_measured_on"), rec.age_months.label("m_age_months"),
        rec.weight_kg.label("m_weight_kg"), rec.length_cm.label("m_length_cm"),
        rec.measure_method.label("m_measure_method"), rec.arm_circumference_cm.label("m_arm_circumference_cm"),
        rec.oedema.label("m_oedema"), rec.zwei.label("m_zwei"), rec.zlen.label("m_zlen"), rec.zwfl.label("m_zwfl"),
        rec.fwei.label("m_fwei"), rec.flen.label("m_flen"), rec.fwfl.label("m_fwfl"),
        rec.cat_bbu.label("m_cat_bbu"), rec.cat_tbu.label("m_cat_tbu"), rec.cat_bbtb.label("m_cat_bbtb"),
        rec.cat_imtu.label("m_cat_imtu"), rec.cat_lila.label("m_cat_lila"), rec.trend_status.label("m_trend_status"),
        rec.is_2t.label("m_is_2t"), rec.is_bgm.label("m_is_bgm"), rec.gain_g.label("m_gain_g"),
        rec.kbm_g.label("m_kbm_g"), rec.weight_implausible.label("m_weight_implausible"),
        rec.length_implausible.label("m_length_implausible"),
        ln.measured_on.label("l_measured_on"), ln.length_cm.label("l_length_cm"), ln.zlen.label("l_zlen"),
        ln.cat_tbu.label("l_cat_tbu"), prev.measured_on.label("p_measured_on"), prev.zlen.label("p_zlen"),
        prev.cat_tbu.label("p_cat_tbu"), last_weighed_on.label("last_weighed_on"), *flags)
        .select_from(ordered)
        .join(person, person.id == o.child_id)
        .outerjoin(month_row, sa.and_(month_row.child_id == o.child_id, month_row.month == month.index))
        .outerjoin(rec, rec.id == sa.func.coalesce(month_row.measurement_id, record_before))
        .outerjoin(ln, ln.id == length_last)
        .outerjoin(prev, prev.id == length_before)
        .where(sa.or_(*(conditions[code] for code in reasons)) if reasons else sa.false())
        .order_by(o.posyandu_code, o.name_sort, o.child_id))
    if limit is not None:
        query = query.limit(limit)
    return query


_MONTH_REASONS = ("severe_wasting", "wasted", "stunted_new", "underweight", "bgm", "two_t")


def _month_conditions(m) -> dict:
    """Per month-record reason, what a measurement of the month must show for the record to
    show it (a necessary condition: a filter on these reasons narrows the cohort first)."""
    return {
        "severe_wasting": sa.or_(m.cat_bbtb == fu.SEVERELY_WASTED, m.cat_lila == fu.MUAC_SEVERE, m.oedema.is_(True)),
        "wasted": sa.or_(m.cat_bbtb == fu.WASTED, m.cat_lila == fu.MUAC_MODERATE),
        "stunted_new": m.cat_tbu.in_(fu.STUNTED),
        "underweight": m.cat_bbu.in_(fu.UNDERWEIGHT),
        "bgm": m.is_bgm.is_(True),
        "two_t": m.is_2t.is_(True),
    }


def _narrowing(reasons) -> bool:
    """Whether a filter on ``reasons`` narrows the cohort by index (month-record reasons and
    early warning only)."""
    return all(r in _MONTH_REASONS or r == "early_warning" for r in reasons)


def _candidates(posyandu_ids, month: Month, reasons: tuple[str, ...], early_warning_ids):
    """For a filter on month-record reasons or early warning only: a SELECT of the child ids that
    may have them (the exact rule is applied afterwards), read by index, so the cohort is narrowed
    before it is sorted: from the month's rows of the report summary (``report_child_month``:
    the month's record, placed where the child ended the month) at ``posyandu_ids`` (None: the
    whole area's cohort), and for new stunting from the month's measurements (a length may be
    measured apart from the weighing that is the month's record). None when no narrowing applies."""
    if not _narrowing(reasons):
        return None
    parts = []
    summary = aliased(ReportChildMonth, name="s_candidate")
    here = [summary.posyandu_id.in_(list(posyandu_ids))] if posyandu_ids is not None else []
    on_record = [_month_conditions(summary)[r] for r in reasons if r in _MONTH_REASONS and r != "stunted_new"]
    if on_record:
        parts.append(sa.select(summary.child_id).where(summary.month == month.index, *here, sa.or_(*on_record)))
    if "stunted_new" in reasons:
        m = aliased(M, name="m_candidate")
        parts.append(sa.select(m.child_id).where(
            *([m.posyandu_id.in_(list(posyandu_ids))] if posyandu_ids is not None else ()),
            m.measured_on >= month.first_day, m.measured_on <= month.last_day, m.deleted_at.is_(None),
            m.cat_tbu.in_(fu.STUNTED)))
        # a child who moved in during or after the month may have been measured elsewhere
        parts.append(sa.select(ChildTransfer.child_id).where(ChildTransfer.moved_on >= month.first_day))
    if "early_warning" in reasons and early_warning_ids:
        parts.append(sa.select(Child.id).where(Child.id.in_(
            sa.bindparam("ew_candidates", list(early_warning_ids), expanding=True, type_=Child.id.type))))
    if not parts:
        return sa.select(Child.id).where(sa.false())
    return parts[0] if len(parts) == 1 else sa.union_all(*parts)


class Warnings:
    """The early-warning list of some children for a month: their ids, and each one's fired
    rules explained on demand (only for the rows a page or a file shows)."""

    def __init__(self):
        self._by_child: dict = {}

    def add(self, child_condition, month: Month) -> list:
        """Evaluate the children matching ``child_condition`` (SQL on ``Child``); returns the
        ids of those listed."""
        from ..early_warning.operations import evaluate
        found = evaluate(child_condition, month)
        ids = []
        for code in found.listed_codes():
            child_id = found.child_ids[code]
            self._by_child[child_id] = (found, int(code))
            ids.append(child_id)
        return ids

    def ids(self) -> list:
        return list(self._by_child)

    def flags(self, child_id) -> list[dict]:
        from ..core.growth import early_warning as ew
        hit = self._by_child.get(child_id)
        if hit is None:
            return []
        found, code = hit
        return ew.explain(found.cols, found.results, found.flags, code, found.rules)


def _early_warning(area: Area, month: Month) -> Warnings:
    """The area's whole early-warning list (the download; a page evaluates its slices only)."""
    warnings = Warnings()
    warnings.add(Child.posyandu_id.in_(area.posyandu_ids()), month)
    return warnings


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
def _values(r, month: Month) -> dict:
    in_month = r.m_measured_on is not None and r.m_measured_on >= month.first_day
    since = max(r.birth_date, r.created_at.date() if r.created_at else r.birth_date)
    weighed = in_month and r.m_weight_kg is not None
    return {
        "measured_on": r.m_measured_on if in_month else None, "whz": r.m_zwfl if r.m_cat_bbtb else None,
        "waz": r.m_zwei if r.m_cat_bbu else None, "muac_cm": r.m_arm_circumference_cm, "oedema": r.m_oedema,
        "cat_bbtb": r.m_cat_bbtb, "cat_lila": r.m_cat_lila, "cat_bbu": r.m_cat_bbu, "weight_kg": r.m_weight_kg,
        "gain_g": r.m_gain_g, "kbm_g": r.m_kbm_g, "length_measured_on": r.l_measured_on, "haz": r.l_zlen,
        "cat_tbu": r.l_cat_tbu,
        "previous_haz": r.p_zlen if r.p_measured_on is not None and r.p_measured_on != r.l_measured_on else None,
        "previous_measured_on": r.p_measured_on if r.p_measured_on != r.l_measured_on else None,
        "last_weighed_on": r.last_weighed_on,
        "months_without_weighing": None if weighed else fu.months_without_weighing(
            month.index, r.last_weighed_on, since),
    }


def listed_codes(r) -> list[str]:
    return [code for code in fu.REASON_CODES if getattr(r, f"r_{code}")]


def _category(code, language):
    if not code:
        return None
    labels = assessment.labels()["categories"].get(code)
    return {"code": code, "label": (labels[1] if language == "en" else labels[0]) if labels else code}


def _measurement(r, language: str) -> dict | None:
    if r.m_id is None:
        return None
    return {"id": r.m_id, "measured_on": r.m_measured_on, "age_months": r.m_age_months,
            "weight_kg": r.m_weight_kg, "length_cm": r.m_length_cm, "measure_method": r.m_measure_method,
            "arm_circumference_cm": r.m_arm_circumference_cm, "oedema": bool(r.m_oedema),
            "zwei": None if r.m_fwei else r.m_zwei, "zlen": None if r.m_flen else r.m_zlen,
            "zwfl": None if r.m_fwfl else r.m_zwfl,
            "weight_implausible": bool(r.m_weight_implausible), "length_implausible": bool(r.m_length_implausible),
            "bbu": _category(r.m_cat_bbu, language), "tbu": _category(r.m_cat_tbu, language),
            "bbtb": _category(r.m_cat_bbtb, language), "imtu": _category(r.m_cat_imtu, language),
            "lila": _category(r.m_cat_lila, language), "trend_status": r.m_trend_status,
            "is_2t": r.m_is_2t, "is_bgm": r.m_is_bgm}


def child_links(child_id, month: Month) -> dict:
    return {"child": f"{API}/children/{child_id}",
            "charts": f"{API}/children/{child_id}/charts",
            "weight_chart": f"{API}/children/{child_id}/charts/weight-for-age.svg",
            "length_chart": f"{API}/children/{child_id}/charts/length-for-age.svg",
            "early_warning": f"{API}/children/{child_id}/early-warning?month={month}",
            "immunization_schedule": f"{API}/children/{child_id}/immunization-schedule"}


def list_links(area: Area, month: Month) -> dict:
    """Links to the other lists of the same place: the overdue and dropout immunization lists
    (per posyandu for a posyandu area; otherwise they cover your whole scope: filter them by
    ``posyandu_id`` from a row's ``posyandu.links``), the early-warning list, the reports."""
    on = as_of(month).isoformat()
    posyandu = f"&posyandu_id={area.key}" if area.level == "posyandu" else ""
    where = f"level={area.level}&code={area.code}&month={month}"
    return {"immunization_overdue": f"{API}/immunizations/overdue?on={on}{posyandu}",
            "immunization_dropouts": f"{API}/immunizations/dropouts?indicator=DPTHBHIB1-DPTHBHIB3&on={on}{posyandu}",
            "immunization_dropouts_mr": f"{API}/immunizations/dropouts?indicator=DPTHBHIB1-MR1&on={on}{posyandu}",
            "dropout_indicators": f"{API}/immunizations/dropout-indicators",
            "early_warnings": f"{API}/early-warnings?{where}",
            "download_xlsx": f"{API}/reports/follow-up.xlsx?{where}",
            "download_csv": f"{API}/reports/follow-up.csv?{where}"}


def _posyandu_links(posyandu_id: int, month: Month) -> dict:
    on = as_of(month).isoformat()
    return {"immunization_overdue": f"{API}/immunizations/overdue?posyandu_id={posyandu_id}&on={on}",
            "immunization_dropouts": f"{API}/immunizations/dropouts?indicator=DPTHBHIB1-DPTHBHIB3"
                                     f"&posyandu_id={posyandu_id}&on={on}"}


def _item(r, month: Month, day: _dt.date, language: str, warnings: Warnings | None) -> dict:
    codes = listed_codes(r)
    return {
        "child": {"id": r.child_id, "name": r.name, "sex": r.sex, "birth_date": r.birth_date,
                  "age_months": completed_months(r.birth_date, day), "has_nik": r.nik_hmac is not None,
                  "nik_masked": r.nik_masked, "mother_name": r.mother_name},
        "posyandu": {"id": r.posyandu_id, "code": r.posyandu_code, "name": r.posyandu_name,
                     "links": _posyandu_links(r.posyandu_id, month)},
        "last_measurement": _measurement(r, language),
        "weighed_this_month": r.m_measured_on is not None and r.m_measured_on >= month.first_day
                              and r.m_weight_kg is not None,
        "reasons": fu.explain(codes, _values(r, month), language,
                              early_warning=[_localized(f, language)
                                             for f in (warnings.flags(r.child_id) if warnings else [])]),
        "links": child_links(r.child_id, month),
    }


def _localized(flag: dict, language: str) -> dict:
    lang = "en" if language == "en" else "id"
    return {**flag, "label": flag[f"label_{lang}"], "message": flag[f"message_{lang}"],
            "advice": flag[f"advice_{lang}"]}


#: Posyandu read by the first query of a page over a large area (then twice as many each time).
FIRST_SLICE = 8
#: The same with a filter that narrows each slice by index (then four times as many each time).
FIRST_NARROWED_SLICE = 64


def _page_rows(area: Area, month: Month, reasons, warnings: Warnings | None, after, wanted: int) -> list:
    """Up to ``wanted`` listed rows after ``after``. A small area is one query; a large one is read
    posyandu by posyandu in code order (slices of 8, 16, 32, ... posyandu, each read by index, a
    filter narrowing each by index too), so the first page of a kabupaten does not sort its
    100,000 children."""
    def run(*, posyandu_ids, moved_after_ids, limit):
        ew_ids = None
        if warnings is not None:  # the slice's children only: bounded work per page
            here = Child.posyandu_id.in_(posyandu_ids)
            ew_ids = warnings.add(sa.or_(here, Child.id.in_(moved_after_ids)) if moved_after_ids else here, month)
        return db.session.execute(_reason_query(area, month, reasons=reasons, early_warning_ids=ew_ids, after=after,
                                                limit=limit, posyandu_ids=posyandu_ids,
                                                moved_after_ids=moved_after_ids)).all()

    posyandu = db.session.execute(
        sa.select(Posyandu.id, Posyandu.code).where(area.posyandu_condition(),
                                                    *([Posyandu.code >= after[0]] if after else ()))
        .order_by(Posyandu.code)).all()
    if not posyandu:
        return []
    moved = list(db.session.scalars(sa.select(ChildTransfer.child_id).where(ChildTransfer.moved_on > month.last_day)
                                    .distinct()))
    if len(posyandu) <= FIRST_SLICE:
        return run(limit=wanted, posyandu_ids=[p.id for p in posyandu], moved_after_ids=moved)
    # a filter that narrows each slice by index reads far fewer children per posyandu: start wider
    narrowed = _narrowing(reasons)
    size, growth = (FIRST_NARROWED_SLICE, 4) if narrowed else (FIRST_SLICE, 2)
    rows, start = [], 0
    while start < len(posyandu) and len(rows) < wanted:
        ids = [p.id for p in posyandu[start:start + size]]
        rows += run(limit=wanted - len(rows), posyandu_ids=ids, moved_after_ids=moved)
        start, size = start + size, size * growth
    return rows


def follow_up_list(scope, area: Area, month: Month, *, reason: str | None = None, early_warning: bool | None = None,
                   cursor: str | None = None, limit: int = DEFAULT_LIMIT, language: str = "id") -> dict:
    """One page of the area's follow-up list (``area`` already resolved in ``scope``)."""
    reasons = reason_codes(reason)
    limit = max(1, min(int(limit), MAX_LIMIT))
    after = decode_cursor(cursor) if cursor else None
    with_ew = include_early_warning(area, reasons, early_warning)
    warnings = Warnings() if with_ew else None
    report_settings()
    rows = _page_rows(area, month, reasons, warnings, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    day = as_of(month)
    return {
        "area": area.as_dict(), "month": str(month), "as_of": day,
        "reason": reason, "early_warning_included": with_ew,
        "reasons": [{"code": r.code, "label": r.label(language), "label_id": r.label_id, "label_en": r.label_en,
                     "refer": r.refer} for r in fu.REASONS],
        "items": [_item(r, month, day, language, warnings) for r in rows],
        "next_cursor": encode_cursor((rows[-1].posyandu_code, rows[-1].name_sort, rows[-1].child_id))
        if more else None,
        "links": list_links(area, month),
    }


# ---------------------------------------------------------------------------------------------
# the download
# ---------------------------------------------------------------------------------------------
def nik_visibility(scope, requested: str | None) -> str:
    """``masked`` (the default for everyone) or ``clear`` (asked by puskesmas, dinkes, admin)."""
    if requested in (None, "", "masked"):
        return "masked"
    if requested != "clear":
        raise InvalidInput("nik is 'clear' or 'masked'.", errors={"nik": ["Must be one of: clear, masked."]})
    if scope.role not in SUPERVISOR_ROLES:
        raise Forbidden("Only puskesmas, dinkes or admin staff can export identifiers in full.")
    return "clear"


_REASON_COLUMNS = [Column(f"reason_{r.code}", r.label_id, r.label_en, "bool") for r in fu.REASONS]
COLUMNS = [
    Column("posyandu_code", "Kode posyandu", "Posyandu code"),
    Column("posyandu_name", "Posyandu", "Posyandu"),
    Column("name", "Nama anak", "Child's name"),
    Column("nik", "NIK anak", "Child NIK"),
    Column("sex", "Jenis kelamin (L/P)", "Sex (L = male, P = female)"),
    Column("birth_date", "Tanggal lahir", "Date of birth", "date"),
    Column("age_months", "Umur (bulan)", "Age (months)", "int"),
    Column("mother_name", "Nama ibu", "Mother's name"),
    Column("address", "Alamat", "Address"),
    Column("rt", "RT", "RT"),
    Column("rw", "RW", "RW"),
    Column("reasons", "Alasan", "Reasons"),
    Column("refer", "Perlu dirujuk", "To refer", "bool"),
    Column("measured_on", "Tanggal pengukuran terakhir", "Last measurement date", "date"),
    Column("weight_kg", "Berat badan (kg)", "Weight (kg)", "float", 2),
    Column("length_cm", "Tinggi/panjang badan (cm)", "Length/height (cm)", "float", 1),
    Column("arm_circumference_cm", "LiLA (cm)", "MUAC (cm)", "float", 1),
    Column("oedema", "Edema", "Oedema", "bool"),
    Column("zs_bbu", "ZS BB/U", "Weight-for-age z", "float", 2),
    Column("status_bbu", "Status BB/U", "Weight-for-age status"),
    Column("zs_tbu", "ZS TB/U", "Length/height-for-age z", "float", 2),
    Column("status_tbu", "Status TB/U", "Length/height-for-age status"),
    Column("length_measured_on", "Tanggal ukur panjang/tinggi (TB/U)", "Length/height measured on", "date"),
    Column("zs_bbtb", "ZS BB/TB", "Weight-for-length/height z", "float", 2),
    Column("status_bbtb", "Status BB/TB", "Weight-for-length/height status"),
    Column("status_lila", "Status LiLA", "MUAC status"),
    Column("trend_status", "N/T/O/B", "N/T/O/B"),
    Column("last_weighed_on", "Terakhir ditimbang", "Last weighed on", "date"),
    Column("months_without_weighing", "Bulan tanpa penimbangan", "Months without weighing", "int"),
    Column("early_warning_rules", "Peringatan dini (aturan)", "Early warning (rules)"),
    *_REASON_COLUMNS,
]


def _category_label(code, language: str):
    if not code:
        return None
    labels = assessment.labels()["categories"].get(code)
    return (labels[1] if language == "en" else labels[0]) if labels else code


def rows(area: Area, month: Month, *, reasons: tuple[str, ...], warnings: Warnings | None, nik: str = "masked",
         language: str = "id"):
    """Generator of download rows, read ``FETCH_ROWS`` at a time (bounded memory)."""
    report_settings()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL cursor_tuple_fraction = 1.0"))
    day = as_of(month)
    result = db.session.execute(_reason_query(area, month, reasons=reasons,
                                              early_warning_ids=warnings.ids() if warnings else None)
                                .execution_options(yield_per=FETCH_ROWS, stream_results=True))
    try:
        for r in result:
            codes = listed_codes(r)
            values = _values(r, month)
            in_month = values["measured_on"] is not None
            out = {
                "posyandu_code": r.posyandu_code, "posyandu_name": r.posyandu_name, "name": r.name,
                "nik": (crypto.decrypt(r.nik_encrypted) if r.nik_encrypted else None) if nik == "clear"
                else r.nik_masked,
                "sex": "L" if r.sex == 1 else "P", "birth_date": r.birth_date,
                "age_months": completed_months(r.birth_date, day), "mother_name": r.mother_name,
                "address": r.address, "rt": r.rt, "rw": r.rw,
                "reasons": "; ".join(fu.label(c, language) for c in codes),
                "refer": any(fu.reason(c).refer for c in codes),
                "measured_on": r.m_measured_on, "weight_kg": r.m_weight_kg, "length_cm": r.m_length_cm,
                "arm_circumference_cm": r.m_arm_circumference_cm,
                "oedema": bool(r.m_oedema) if r.m_id is not None else None,
                "zs_bbu": None if r.m_fwei else r.m_zwei, "status_bbu": _category_label(r.m_cat_bbu, language),
                "zs_tbu": None if r.l_zlen is None else r.l_zlen,
                "status_tbu": _category_label(r.l_cat_tbu, language), "length_measured_on": r.l_measured_on,
                "zs_bbtb": None if r.m_fwfl else r.m_zwfl, "status_bbtb": _category_label(r.m_cat_bbtb, language),
                "status_lila": _category_label(r.m_cat_lila, language),
                "trend_status": r.m_trend_status if in_month else None,
                "last_weighed_on": r.last_weighed_on,
                "months_without_weighing": values["months_without_weighing"],
                "early_warning_rules": ", ".join(f["rule"] for f in warnings.flags(r.child_id)) or None
                if warnings else None,
            }
            for code in fu.REASON_CODES:
                out[f"reason_{code}"] = True if code in codes else None
            yield out
    finally:
        result.close()


@register("follow-up", title_id="Daftar tindak lanjut (by-name)", title_en="Follow-up list (by name)",
          options=("reason", "early_warning", "nik", "lang"), by_name=True,
          description_en="The children of the area to follow up this month, by name, one row per child with every "
                         "reason (gizi buruk to refer, wasted, stunted new/known, underweight, BGM, 2T, not weighed, "
                         "not weighed for two months or more, early warning). NIK masked unless nik=clear "
                         "(puskesmas, dinkes, admin; audited). Streamed.")
def follow_up_document(scope, area: Area, month: Month, options: dict) -> ReportDocument:
    reasons = reason_codes(options.get("reason"))
    nik = nik_visibility(scope, options.get("nik"))
    language = options.get("lang") or "id"
    with_ew = include_early_warning(area, reasons, parse_flag(options.get("early_warning")))
    warnings = _early_warning(area, month) if with_ew else None
    if nik == "clear":
        audit("export_identifiers", "report", f"follow-up:{area.level}:{area.code}"[:40],
              changes={"month": [None, str(month)], "identifiers": [None, ["nik"]],
                       "reason": [None, options.get("reason") or "all"]},
              posyandu_id=area.key if area.level == "posyandu" else None, user_id=scope.user_id)
    notes_id = ["Satu baris per anak sasaran bulan ini yang perlu ditindaklanjuti, dengan semua alasannya.",
                "Peringatan dini " + ("disertakan." if with_ew else
                                      "tidak disertakan (wilayah besar: minta early_warning=true)."),
                "NIK " + ("lengkap (akses tercatat di audit)." if nik == "clear" else "disamarkan.")]
    notes_en = ["One row per target child of the month to follow up, with every reason.",
                "Early warning " + ("included." if with_ew else
                                    "not included (a large area: ask early_warning=true)."),
                "NIK " + ("in full (the access is audited)." if nik == "clear" else "masked.")]
    return ReportDocument(
        kind="follow-up", title_id="Daftar tindak lanjut (by-name)", title_en="Follow-up list (by name)",
        area=area.as_dict(), period=str(month),
        tables=[Table("children", "Tindak lanjut", "Follow-up", COLUMNS,
                      rows(area, month, reasons=reasons, warnings=warnings, nik=nik, language=language),
                      notes_id=notes_id, notes_en=notes_en)])
