"""Name keys that tolerate Indonesian spelling variants (old Van Ophuijsen/Soewandi spellings,
doubled letters, spacing), used for tolerant search and duplicate detection."""
from __future__ import annotations

import re
import unicodedata

# Old spellings still common in names: oe→u, dj→j, tj→c, j→y (before 1972), sj→sy, ch→kh.
_REPLACEMENTS = [("oe", "u"), ("dj", "j"), ("tj", "c"), ("sj", "sy"), ("ch", "kh"), ("ph", "f"),
                 ("th", "t"), ("dh", "d"), ("q", "k"), ("x", "ks"), ("z", "s"), ("v", "f")]
_NON_ALPHA = re.compile(r"[^a-z ]+")
_DOUBLES = re.compile(r"(.)\1+")


def name_key(name: str | None) -> str:
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = _NON_ALPHA.sub(" ", text)
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = _DOUBLES.sub(r"\1", text)
    text = re.sub(r"h\b", "", text)  # trailing h is often dropped: "Fatimah"/"Fatima"
    return " ".join(text.split())


def name_sort_key(name: str | None) -> str:
    """The order of the child list: the name as written, case- and accent-insensitive, spaces
    collapsed ("Zidan" after "Siti", "ayu" next to "Ayu", "Élise" with "Elise"). Stored
    (``child.name_sort``, compared byte-wise: collation "C" on PostgreSQL, BINARY on SQLite) so
    that both databases order, and paginate, identically."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())
