"""What a caller sent, made storable: PostgreSQL text and jsonb refuse NUL, UTF-8 cannot encode an unpaired
surrogate, and JSON has no NaN or infinity. Rejected events are kept with such values escaped.

Escapes are the JSON spelling as plain text: NUL becomes the six characters `\\u0000`, a lone surrogate
`\\ud800`; non-finite numbers become the strings "NaN", "Infinity", "-Infinity". A quarantine entry that
needed an escape says so in its errors (ESCAPED_NOTE), so nobody mistakes the text for what was sent.
"""
from __future__ import annotations

import math
import re
from typing import Any

ESCAPED_NOTE = "stored with escapes: NUL, unpaired surrogates or non-finite numbers were written as text"
MAX_DEPTH = 64  # deeper structures are cut: no event of docs/contract.md §3 nests more than a few levels
MAX_INT_BITS = 13_000  # ~3,900 digits: Python writes no longer integer as text (sys.get_int_max_str_digits)
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def storable_text(value: str, limit: int | None = None) -> str:
    """`value` without NUL and unpaired surrogates (escaped), cut to `limit` characters."""
    text = _UNSTORABLE.sub(_escape_char, value) if _UNSTORABLE.search(value) else value
    return text if limit is None else text[:limit]


def needs_escape(value: Any, depth: int = 0) -> bool:
    """True when `value` holds anything `storable` would change."""
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int):
        return value.bit_length() > MAX_INT_BITS
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return True
    if isinstance(value, dict):
        return any(needs_escape(k, depth) or needs_escape(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(needs_escape(v, depth + 1) for v in value)
    return False


def storable(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON value that jsonb accepts; the value itself when nothing needs escaping."""
    if not needs_escape(value, depth):
        return value
    return _escaped(value, depth)


def _escaped(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return f"<integer of {value.bit_length()} bits>"
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        return {storable_text(k) if isinstance(k, str) else k: _escaped(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v, depth + 1) for v in value]
    return value
