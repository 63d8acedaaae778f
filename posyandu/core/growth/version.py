"""Version strings stored with every computed growth result.

``STANDARD_VERSION`` = WHO standard/algorithm + ``+`` + Indonesian rule-set version, e.g.
``who2006-anthro1.1.0+id-2020.2``. Store it on each measurement row next to the z-scores,
categories and N/T status; the recompute CLI selects rows whose stored version differs.

* WHO part: WHO Child Growth Standards 2006 (LMS tables) with the WHO ``anthro`` R package
  1.1.0 algorithm (age in rounded days, +/-0.7 cm adjustment, restricted z beyond +/-3 SD,
  2-dp rounding, flags). Change it only when the z-score engine changes.
* Indonesian part: ``version`` in ``data/rules_id.json`` (bump it whenever a rule changes);
  a programmatic KBM-reading override adds ``-kbm<reading>`` (see :func:`.rules.load_rules`).
"""
from __future__ import annotations

from .rules import Rules, default_rules

#: Human-readable name of the WHO standard and algorithm version.
WHO_STANDARD = "WHO-CGS-2006 / anthro 1.1.0 algorithm"
#: Machine form of :data:`WHO_STANDARD`, the first part of the version string.
WHO_STANDARD_VERSION = "who2006-anthro1.1.0"

#: Version of the packaged Indonesian rule set, e.g. ``id-2020.2``.
RULESET_VERSION: str = default_rules().version
#: Full version stored with results, e.g. ``who2006-anthro1.1.0+id-2020.2``.
STANDARD_VERSION: str = f"{WHO_STANDARD_VERSION}+{RULESET_VERSION}"


def standard_version(rules: Rules | None = None) -> str:
    """``<WHO standard>+<Indonesian rule set>`` for ``rules`` (default: packaged rules)."""
    if rules is None:
        return STANDARD_VERSION
    return f"{WHO_STANDARD_VERSION}+{rules.version}"


__all__ = ["WHO_STANDARD", "WHO_STANDARD_VERSION", "RULESET_VERSION", "STANDARD_VERSION",
           "standard_version"]
