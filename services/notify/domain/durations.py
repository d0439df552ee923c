"""Duration strings of the notify config ("0s", "30s", "5m", "4h", "1h30m", "2d") to timedelta and back."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# Units must appear largest first and at most once, like Alertmanager / Prometheus durations.
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "30s" or "1h30m"; raise ValueError naming the bad text otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r} (use e.g. '30s', '5m', '4h')")
    found = _DURATION.match(text.strip())
    if not text.strip() or found is None:
        raise ValueError(f"invalid duration '{text}' (use e.g. '30s', '5m', '4h')")
    pairs = zip(found.groups(), _UNITS.values(), strict=True)
    seconds = sum(int(part) * scale for part, scale in pairs if part)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Shortest duration string that parses back to the same value (whole milliseconds)."""
    millis = round(value.total_seconds() * 1000)
    if millis == 0:
        return "0s"
    parts = []
    for unit, scale in _UNITS.items():
        size = round(scale * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
