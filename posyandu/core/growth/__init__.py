"""WHO child growth z-scores, exactly as WHO anthro computes them (see zscores.py)."""

from .zscores import ALL_KEYS, OUTPUT_COLUMNS, compute_zscores, missing_reasons, zscores_one
