"""Monthly growth trend at the posyandu: N / T / O / B, 2T and KBM; visit checks; warnings.

Normative rule: growth-velocity-id.md §2.1 (PosyanduGo domain notes). Per calendar month
``m`` of weighing, using the LAST weighing of each month:

1. no weighing of the child before month ``m`` at all          -> ``B`` (baru)
2. else no weighing in month ``m-1``                             -> ``O``
3. else ``gain_g = round((w_m - w_{m-1}) * 1000)``;
   ``gain_g >= KBM(age)`` -> ``N`` (naik), else ``T`` (tidak naik; loss and no change are T)
4. ``is_2t`` = status ``T`` this month and ``T`` in month ``m-1`` (so ``O`` breaks the chain).

Age for KBM = completed calendar months on the weighing date (born 28 July, weighed
27 August -> 0 months). No status from 60 completed months (``status_max_age_months``).
KBM table, the birth-weight rule and the age-0 rule are data (``data/rules_id.json``).

Judgement calls (documented here and in the JSON notes):

* **Several weighings in one month.** Every weighing gets a result computed by the same
  rule (against the last weighing of month ``m-1``), so the cadre sees a status at the
  table. Only the month's last weighing has ``counts_for_month=True``; earlier ones are
  ``superseded=True`` and must not be counted in SKDN (D = N + T + O + B counts one
  weighing per child and month). Weighings on the same date keep their input order (the
  later one in the input is the later weighing).
* **Birth weight** (``trend.birth_weight_counts_as_previous_month``, default true): a
  birth weight from the Buku KIA acts as the month ``m-1`` weighing only for the month
  right after the birth month (and only if no posyandu weighing in the birth month
  replaces it). It never makes a child "weighed before" for B/O.
* **Age 0 in consecutive months** (born 28 July, weighed 30 July and 27 August): KBM of
  ``trend.kbm_age0_uses_age_months`` (default month 1 = 800 g) so D = N + T + O + B holds.
* Weighings without a usable weight (None/NaN/<= 0) or dated before the birth date get no
  status (``no_status_reason``) and do not take part in the month chain.
* **Implausible weights never drive a status** (:func:`plausibility_chain`): a weighing whose
  weight is flagged by WHO (BB/U, or BB/PB-BB/TB / IMT/U when the length is not the flagged
  value) or changed by more than the previous-visit check allows since the last USABLE
  weighing (unless the cadre confirmed it after weighing again) gets no status
  (``no_status_reason="implausible"``) and is skipped by the chain: the next weighing compares
  with the last usable one (so after an excluded month it is ``O``).

Recomputation: :func:`compute_trend` is a pure function of the child's whole weighing
history, O(n) after sorting (Python's sort is linear on already-sorted input). After an
edit or delete anywhere, call it again on the full history and store the results whose
values changed (:func:`changed_results` helps).
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Sequence

from .rules import Rules, default_rules

N, T, O, B = "N", "T", "O", "B"

#: Days per month used only to scale the weight-change check (WHO anthro constant).
DAYS_PER_MONTH = 30.4375


def completed_months(birth: _dt.date, on: _dt.date) -> int:
    """Age in completed calendar months (*bulan penuh*) on date ``on``.

    Calendar-month arithmetic, as ``dateutil.relativedelta(on, birth).months`` (+ years):
    born 28 July, on 27 August -> 0; on 28 August -> 1; born 31 January, on 28 February
    -> 0, on 1 March -> 1. Negative when ``on`` is before ``birth``.
    """
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if months > 0 and on.day < birth.day:
        months -= 1
    elif months < 0 and on.day > birth.day:
        months += 1
    return months


def month_index(d: _dt.date) -> int:
    """Calendar month as a consecutive integer (year * 12 + month - 1)."""
    return d.year * 12 + d.month - 1


def _as_date(d: Any) -> _dt.date:
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, str):
        return _dt.date.fromisoformat(d)
    raise TypeError(f"expected a date, got {d!r}")


def _weight(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    if math.isnan(v) or v <= 0:
        return None
    return v


@dataclass(frozen=True, slots=True)
class WeighingTrend:
    """N/T/O/B result for one weighing (see module docstring)."""

    measurement_id: Any
    date: _dt.date
    weight_kg: float | None
    month: str                    # "YYYY-MM", calendar month of the weighing
    age_months: int               # completed months on the weighing date
    status: str | None            # "N" | "T" | "O" | "B" | None
    status_label_id: str | None   # "Naik", "Tidak naik", ...
    status_label_en: str | None
    counts_for_month: bool        # True for the month's last weighing (counts in SKDN)
    superseded: bool              # True: a later weighing in the same month counts instead
    is_2t: bool
    gain_g: int | None            # N/T only: grams since the reference weighing
    kbm_g: int | None             # N/T only: minimum gain for age_months
    previous_id: Any              # measurement id of the reference (None for birth weight)
    previous_date: _dt.date | None
    previous_weight_kg: float | None
    previous_source: str | None   # "weighing" | "birth_weight" | None (B)
    no_status_reason: str | None  # "age_60_plus" | "no_weight" | "before_birth" | "implausible" | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute_trend(birth_date: _dt.date, weighings: Iterable[Sequence[Any]],
                  birth_weight_kg: float | None = None, *,
                  rules: Rules | None = None) -> list[WeighingTrend]:
    """N/T/O/B, 2T, gain and KBM for every weighing of one child.

    ``weighings``: iterable of ``(measurement_id, date, weight_kg)`` or ``(measurement_id,
    date, weight_kg, usable)`` in any order (ties on the same date keep input order);
    ``usable=False`` marks an implausible weight (see :func:`plausibility_chain`): no status,
    not part of the chain. Returns one :class:`WeighingTrend` per input weighing, in
    chronological order.
    """
    rules = rules or default_rules()
    birth = _as_date(birth_date)
    birth_mi = month_index(birth)
    bw = _weight(birth_weight_kg) if rules.birth_weight_counts else None
    max_age = rules.status_max_age_months
    labels = rules.status_labels

    items, implausible = [], set()
    for seq, weighing in enumerate(weighings):
        mid, d, w = weighing[0], weighing[1], weighing[2]
        if len(weighing) > 3 and weighing[3] is False:
            implausible.add(seq)
        items.append((_as_date(d), seq, mid, w))
    items.sort(key=lambda it: (it[0], it[1]))

    results: list[WeighingTrend] = []
    # state: last counted weighing of the latest month seen so far
    last_mi: int | None = None
    last_ref: tuple[Any, _dt.date, float] | None = None
    last_status: str | None = None

    # pre-compute, per valid item, whether it is the last valid weighing of its month
    valid = [(_weight(w) is not None and d >= birth and seq not in implausible) for d, seq, _, w in items]
    is_last = [False] * len(items)
    next_mi = None
    for i in range(len(items) - 1, -1, -1):
        if valid[i]:
            mi = month_index(items[i][0])
            is_last[i] = mi != next_mi
            next_mi = mi

    cur_mi: int | None = None
    mode = None               # rule for the current month: "NT", "O" or "B"
    prev_ref = None           # (id, date, kg): m-1 weighing, birth weight, or (O) last earlier
    prev_source = None
    prev_month_status = None  # status of month m-1 (for 2T)
    for i, (d, _seq, mid, w_in) in enumerate(items):
        w = _weight(w_in)
        age = completed_months(birth, d)
        mi = month_index(d)
        month = f"{d.year:04d}-{d.month:02d}"
        if not valid[i]:
            reason = "before_birth" if d < birth else "no_weight" if w is None else "implausible"
            results.append(WeighingTrend(mid, d, w, month, age, None, None, None, False, False,
                                         False, None, None, None, None, None, None, reason))
            continue
        if mi != cur_mi:
            # entering a new month: its rule depends only on earlier months' last weighings
            cur_mi = mi
            prev_month_status = None
            if last_mi == mi - 1:
                mode, prev_ref, prev_source = "NT", last_ref, "weighing"
                prev_month_status = last_status
            elif bw is not None and birth_mi == mi - 1:
                mode, prev_ref, prev_source = "NT", (None, birth, bw), "birth_weight"
            elif last_mi is not None:
                mode, prev_ref, prev_source = "O", last_ref, "weighing"
            else:
                mode, prev_ref, prev_source = "B", None, None

        gain = kbm = None
        reason = None
        if age > max_age:
            status = None
            reason = "age_60_plus"
        elif mode == "NT":
            gain = round((w - prev_ref[2]) * 1000)
            kbm = rules.kbm_g(age)
            status = N if gain >= kbm else T
        elif mode == "O":
            status = O
        else:
            status = B
        is_2t = status == T and prev_month_status == T
        label = labels.get(status) if status else None
        ref_id, ref_date, ref_w = prev_ref if prev_ref is not None else (None, None, None)
        results.append(WeighingTrend(
            measurement_id=mid, date=d, weight_kg=w, month=month, age_months=age,
            status=status,
            status_label_id=label[0] if label else None,
            status_label_en=label[1] if label else None,
            counts_for_month=is_last[i], superseded=not is_last[i], is_2t=is_2t,
            gain_g=gain, kbm_g=kbm,
            previous_id=ref_id, previous_date=ref_date, previous_weight_kg=ref_w,
            previous_source=prev_source if prev_ref is not None else None,
            no_status_reason=reason,
        ))
        if is_last[i]:
            last_mi, last_ref, last_status = mi, (mid, d, w), status
    return results


def deciding_weighings(birth_date: _dt.date, weighings: Iterable[Sequence[Any]],
                       on: _dt.date) -> list[Sequence[Any]]:
    """The part of a child's weighing history that decides the result of a weighing on ``on``.

    A weighing in month ``m`` gets its status from the last weighing of ``m-1`` (itself
    needed only for its weight), its 2T from the status of ``m-1`` (decided by ``m-2``), and
    O versus B from whether any usable weighing came before; later weighings change nothing.
    So :func:`compute_trend` over the weighings of months ``m-2`` to ``m`` plus the latest
    usable weighing before ``m-2`` gives that weighing the same status, 2T, gain and KBM as
    over the whole history -- what a cadre's request needs, without replaying five years of
    visits. ``weighings`` and the result: ``(measurement_id, date, weight_kg[, usable])``
    tuples, input order kept (ties on one date keep their order, as in :func:`compute_trend`).
    """
    birth = _as_date(birth_date)
    first = month_index(_as_date(on)) - 2
    last = first + 2
    kept: list[Sequence[Any]] = []
    earlier = None
    earlier_date = None
    for item in weighings:
        d = _as_date(item[1])
        mi = month_index(d)
        if mi < first:
            usable = not (len(item) > 3 and item[3] is False)
            if usable and d >= birth and _weight(item[2]) is not None and (earlier_date is None or d >= earlier_date):
                earlier, earlier_date = item, d
        elif mi <= last:
            kept.append(item)
    return kept if earlier is None else [earlier, *kept]


def month_statuses(results: Iterable[WeighingTrend]) -> dict[str, WeighingTrend]:
    """The counting weighing of each month, keyed by ``"YYYY-MM"`` (for SKDN)."""
    return {r.month: r for r in results if r.counts_for_month}


def changed_results(old: Iterable[WeighingTrend],
                    new: Iterable[WeighingTrend]) -> list[WeighingTrend]:
    """Results in ``new`` that differ from (or are absent in) ``old``, by measurement id.

    Use after an edit/delete: recompute the whole history, then store only these.
    """
    before = {r.measurement_id: r for r in old}
    return [r for r in new if before.get(r.measurement_id) != r]


# ---------------------------------------------------------------------------------------
# plausibility checks against the previous visit
# ---------------------------------------------------------------------------------------
def check_against_previous(current: Mapping[str, Any], previous: Mapping[str, Any] | None, *,
                           rules: Rules | None = None) -> list[dict[str, Any]]:
    """Warnings comparing this visit with the previous one (re-measure at the table).

    ``current`` / ``previous``: mappings with ``date`` and optional ``weight_kg`` and
    ``clenhei`` (length/height AFTER the lying/standing 0.7 cm adjustment, as returned by
    the z-score engine). Checks run only where both values exist.

    * ``length_decreased``: previous clenhei - current clenhei > tolerance (1.0 cm).
    * ``weight_change_implausible``: |weight change| > 1.5 kg x interval in months
      (days / 30.4375, at least 1 month).
    """
    rules = rules or default_rules()
    if previous is None:
        return []
    d_cur = _as_date(current["date"])
    d_prev = _as_date(previous["date"])
    if d_prev > d_cur:
        raise ValueError("previous visit is after the current visit")
    out = []
    cur_len, prev_len = _num(current.get("clenhei")), _num(previous.get("clenhei"))
    if cur_len is not None and prev_len is not None:
        decrease = round(prev_len - cur_len, 6)
        if decrease > rules.length_decrease_tolerance_cm:
            out.append(rules.warning("length_decreased", {
                "previous_cm": prev_len, "current_cm": cur_len,
                "decrease_cm": round(decrease, 2),
                "tolerance_cm": rules.length_decrease_tolerance_cm,
                "previous_date": d_prev.isoformat(),
            }))
    cur_w, prev_w = _weight(current.get("weight_kg")), _weight(previous.get("weight_kg"))
    if cur_w is not None and prev_w is not None:
        days = (d_cur - d_prev).days
        months = max(days / DAYS_PER_MONTH, rules.weight_change_min_interval_months)
        allowed = round(rules.weight_change_max_kg_per_month * months, 6)
        change = round(cur_w - prev_w, 6)
        if abs(change) > allowed:
            out.append(rules.warning("weight_change_implausible", {
                "previous_kg": prev_w, "current_kg": cur_w, "change_kg": round(change, 3),
                "allowed_kg": round(allowed, 3), "interval_days": days,
                "previous_date": d_prev.isoformat(),
            }))
    return out


def _num(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


# ---------------------------------------------------------------------------------------
# implausible values: which weights and lengths may decide statuses
# ---------------------------------------------------------------------------------------
#: Warnings of the previous-visit checks, per value they judge.
WEIGHT_CHECK, LENGTH_CHECK = "weight_change_implausible", "length_decreased"


@dataclass(frozen=True, slots=True)
class Plausibility:
    """What the plausibility rules say of one visit (see :func:`judge_visit`)."""

    weight_implausible: bool   # the weight must not decide N/T/O/B, 2T, BGM, categories
    length_implausible: bool   # the length must not decide PB/U-TB/U, BB/PB-BB/TB, IMT/U
    checks: tuple              # previous-visit check warnings (dicts), as shown to the cadre


def who_implausible(flags: Mapping[str, Any]) -> tuple[bool, bool]:
    """(weight, length) implausible by WHO's flags alone (anthropometry-id.md §2.5).

    BB/U flagged -> the weight; PB/U-TB/U flagged -> the length. A flagged ratio index
    (BB/PB-BB/TB or IMT/U) blames the length when PB/U-TB/U is the flagged one, the weight
    when BB/U is, and both when neither single index is flagged (it cannot tell which)."""
    fwei, flen = bool(flags.get("fwei")), bool(flags.get("flen"))
    ratio = bool(flags.get("fwfl")) or bool(flags.get("fbmi"))
    return fwei or (ratio and not flen), flen or (ratio and not fwei)


def judge_visit(current: Mapping[str, Any], last_weight: Mapping[str, Any] | None,
                last_length: Mapping[str, Any] | None, *, confirmed: bool = False,
                rules: Rules | None = None) -> Plausibility:
    """Is this visit's weight (length) usable for statuses?

    ``current``: ``date``, ``weight_kg``, ``clenhei`` and the WHO flags ``fwei``, ``flen``,
    ``fwfl``, ``fbmi``. ``last_weight`` / ``last_length``: the last USABLE weighing / length
    before this visit (``date`` with ``weight_kg`` / ``clenhei``), or None.

    * A WHO-flagged value is implausible whatever the cadre says (WHO's biologically
      implausible range).
    * A value outside the previous-visit checks (weight change > 1.5 kg/month, length lower
      by more than 1 cm) is implausible unless ``confirmed`` (the cadre weighed or measured
      again and the value stands: a real loss must be able to give T and a referral); a
      confirmed visit shows no check warning.
    """
    rules = rules or default_rules()
    weight_flagged, length_flagged = who_implausible(current)
    weight, length = _weight(current.get("weight_kg")), _num(current.get("clenhei"))
    checks: list[dict[str, Any]] = []
    if weight is not None and last_weight is not None:
        checks += check_against_previous({"date": current["date"], "weight_kg": weight},
                                         {"date": last_weight["date"], "weight_kg": last_weight["weight_kg"]},
                                         rules=rules)
    if length is not None and last_length is not None:
        checks += check_against_previous({"date": current["date"], "clenhei": length},
                                         {"date": last_length["date"], "clenhei": last_length["clenhei"]},
                                         rules=rules)
    codes = {w["code"] for w in checks}
    if confirmed:
        checks = []
    weight_bad = weight is not None and (weight_flagged or (WEIGHT_CHECK in codes and not confirmed))
    length_bad = length is not None and (length_flagged or (LENGTH_CHECK in codes and not confirmed))
    return Plausibility(weight_bad, length_bad, tuple(checks))


def plausibility_chain(visits: Sequence[Mapping[str, Any]], *,
                       rules: Rules | None = None, last_weight: Mapping[str, Any] | None = None,
                       last_length: Mapping[str, Any] | None = None) -> list[Plausibility]:
    """:func:`judge_visit` for every visit of one child, in the order given (visit order):
    each is checked against the last usable weight and length before it, so one implausible
    entry never makes the following ones look implausible. ``visits``: mappings as
    ``current`` of :func:`judge_visit` plus ``confirm_implausible``. ``last_weight`` /
    ``last_length``: the last usable ones before the first visit, when the chain continues
    an earlier part of the history that is already judged (``{"date", "weight_kg"}`` /
    ``{"date", "clenhei"}``)."""
    rules = rules or default_rules()
    out = []
    for visit in visits:
        result = judge_visit(visit, last_weight, last_length,
                             confirmed=bool(visit.get("confirm_implausible")), rules=rules)
        out.append(result)
        if not result.weight_implausible and _weight(visit.get("weight_kg")) is not None:
            last_weight = {"date": visit["date"], "weight_kg": visit["weight_kg"]}
        if not result.length_implausible and _num(visit.get("clenhei")) is not None:
            last_length = {"date": visit["date"], "clenhei": visit["clenhei"]}
    return out


# ---------------------------------------------------------------------------------------
# warnings for the whole visit
# ---------------------------------------------------------------------------------------
def visit_warnings(classification: Mapping[str, Any] | None = None,
                   weighing: WeighingTrend | Mapping[str, Any] | None = None,
                   checks: Iterable[Mapping[str, Any]] = (), *,
                   rules: Rules | None = None) -> list[dict[str, Any]]:
    """All warnings for one visit, de-duplicated by code and sorted by priority.

    * ``classification``: result of :func:`.classify.classify_visit` -> remeasure for every
      flagged index, ``oedema``, ``lila_severe_acute`` / ``lila_moderate_acute`` (LiLA <
      11.5 / < 12.5 cm), ``bgm``, ``above_orange_line``.
    * ``weighing``: this visit's :class:`WeighingTrend` (or a mapping with ``status`` and
      ``is_2t``) -> ``weight_not_gained_2t`` (2T) or ``weight_not_gained`` (T), both with the
      referral hint "perlu dirujuk ke tenaga kesehatan".
    * ``checks``: warnings from :func:`check_against_previous`.

    Each warning: ``{"code", "label_id", "label_en", "kind": "remeasure"|"referral",
    "refer": bool, "priority": int, "detail": dict | None}``.
    """
    rules = rules or default_rules()
    found: dict[str, dict[str, Any]] = {}

    def add(code: str, detail: Mapping[str, Any] | None = None) -> None:
        if code in found:
            if detail and "indices" in detail and found[code]["detail"]:
                found[code]["detail"]["indices"].extend(detail["indices"])
            return
        found[code] = rules.warning(code, detail)

    if classification is not None:
        for key in (*rules.indices, "lila"):
            entry = classification.get(key)
            if entry and entry.get("status") == "flagged" and entry.get("reason"):
                add(entry["reason"], {"indices": [key]})
        if classification.get("oedema"):
            add("oedema")
        lila = (classification.get("lila") or {}).get("category")
        if lila == "lila.severe_acute":
            add("lila_severe_acute")
        elif lila == "lila.moderate_acute":
            add("lila_moderate_acute")
        if classification.get("bgm"):
            add("bgm")
        if classification.get("above_orange"):
            add("above_orange_line")
    if weighing is not None:
        if isinstance(weighing, WeighingTrend):
            status, is_2t = weighing.status, weighing.is_2t
        else:
            status, is_2t = weighing.get("status"), weighing.get("is_2t")
        if is_2t:
            add("weight_not_gained_2t")
        elif status == T:
            add("weight_not_gained")
    for w in checks:
        code = w["code"]
        if code not in found:
            found[code] = dict(w)
    return sorted(found.values(), key=lambda w: (w["priority"], w["code"]))


__all__ = [
    "N", "T", "O", "B", "WeighingTrend", "completed_months", "month_index", "compute_trend",
    "month_statuses", "changed_results", "check_against_previous", "visit_warnings",
    "Plausibility", "who_implausible", "judge_visit", "plausibility_chain",
]
