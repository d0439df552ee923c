"""How codes (SKUs, aliases, locations, suppliers) compare: one lookup key per code."""
from __future__ import annotations

import unicodedata


def code_key(code: str) -> str:
    """The lookup key of a code: NFKC-normalized, all whitespace removed, case-folded.

    So '６９０１ 234', ' 6901234 ' and '6901234' are one code, as are 'sku-a' and 'SKU-A'. Feeds retype
    codes by hand and through spreadsheets; two real SKUs differing only in case or spacing are not a thing.
    """
    return "".join(unicodedata.normalize("NFKC", code).split()).casefold()


def clean_code(code: str) -> str:
    """The display form of a code: NFKC-normalized and trimmed, case kept."""
    return unicodedata.normalize("NFKC", code).strip()
