"""Reading feed timestamps: ISO 8601, epoch seconds or milliseconds, strptime patterns, local zones."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def parse_time(value: object, format: str, zone: str | None, *, date_only: bool = False) -> datetime | date:
    """An aware datetime (or a date when `date_only`); raises ValueError with a message for the caller.

    A naive wall time is read in `zone` (IANA). In the hour a DST change repeats, the earlier reading is
    taken (fold=0); that ambiguity is the feed's, and sending offsets or epoch times removes it.
    """
    if format in ("epoch_s", "epoch_ms"):
        moment = _epoch(value, 1000.0 if format == "epoch_ms" else 1.0)
    else:
        moment = _wall(value, format)
    if date_only:
        if moment.tzinfo is not None and zone:
            moment = moment.astimezone(ZoneInfo(zone))
        return moment.date()
    if moment.tzinfo is None:
        if not zone:
            raise ValueError(f"'{value}' has no timezone and the mapping sets none")
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def _epoch(value: object, divisor: float) -> datetime:
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
        return datetime.fromtimestamp(number / divisor, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        unit = "milliseconds" if divisor > 1 else "seconds"
        raise ValueError(f"'{value}' is not an epoch time in {unit}") from None


def _wall(value: object, format: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a date-time string")
    text = value.strip()
    try:
        if format == "iso":
            if len(text) == 10:
                return datetime.combine(date.fromisoformat(text), datetime.min.time())
            return datetime.fromisoformat(text)
        return datetime.strptime(text, format)
    except ValueError:
        raise ValueError(f"'{value}' does not match format '{format}'") from None
