"""Small-count suppression for published aggregates (statistical disclosure control).

Rules (docs/command-centre.md):

* **Primary**: a count of 1-4 is published as the string ``"<5"`` (:data:`SMALL`). Zero is
  published: it places nobody in a category.
* **Complementary (secondary)**: areas nest (desa inside kecamatan), and the parent's count is
  the sum of its children's. When exactly one child cell of a published parent is hidden, it
  could be recovered as ``parent - sum(others)``; so the smallest other published child cell
  (non-zero first, then by key) is hidden as well, as :data:`WITHHELD`. With two or more hidden
  cells a reader learns only their sum (an interval for each), never one cell.
* **Rates** computed from a hidden count (numerator, denominator or the N of a confidence
  interval) are withheld: ``None`` with a reason (:data:`REASON_SMALL`).

Pure functions on plain dicts: no Flask, no database.
"""
from __future__ import annotations

from typing import Hashable, Mapping

THRESHOLD = 5
SMALL = "<5"
WITHHELD = "withheld"
REASON_SMALL = "small_count"
REASON_NO_DATA = "no_data"
REASON_NOT_COMPUTED = "not_computed"


def is_small(value: int | None) -> bool:
    return value is not None and 0 < value < THRESHOLD


def hidden_cells(parent: int | None, children: Mapping[Hashable, int | None]) -> dict[Hashable, str]:
    """``{child key: SMALL | WITHHELD}`` for the children of one parent cell (one metric, one
    period) whose value must not be published. ``None`` values (not computed) are ignored."""
    hidden = {k: SMALL for k, v in children.items() if is_small(v)}
    if parent is None or is_small(parent) or len(hidden) != 1:
        return hidden
    shown = [(k, v) for k, v in children.items() if v is not None and k not in hidden]
    if not shown:
        return hidden
    shown.sort(key=lambda kv: (kv[1] == 0, kv[1], str(kv[0])))
    hidden[shown[0][0]] = WITHHELD
    return hidden


def publish(value: int | None, hidden: str | None = None) -> int | str | None:
    """The value as published: the marker when hidden, else the number."""
    if value is None:
        return None
    if hidden is not None:
        return hidden
    return SMALL if is_small(value) else value


def rate_reason(*counts: int | str | None) -> str | None:
    """Why a rate computed from these published counts is withheld (``None``: publish it). The
    first count is the denominator-like one whose zero means "no data"."""
    if any(isinstance(c, str) for c in counts):
        return REASON_SMALL
    if any(c is None for c in counts):
        return REASON_NOT_COMPUTED
    if counts and counts[0] == 0:
        return REASON_NO_DATA
    return None
