"""Cursors of lists ordered by a time and an id (`<ISO 8601 UTC>|<id>`): one pagination style everywhere."""
from __future__ import annotations

from datetime import UTC, datetime

from shared.http.errors import ApiError


def time_cursor(at: datetime, ident: str) -> str:
    # UTC with a Z: a "+00:00" put unencoded into a query string would arrive as a space
    return f"{at.astimezone(UTC).isoformat().replace('+00:00', 'Z')}|{ident}"


def parse_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A previous page's next_cursor as (time, id); 422 for anything else."""
    if not cursor:
        return None
    at, _, ident = cursor.partition("|")
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        when = None
    if not ident or when is None or when.tzinfo is None:
        raise ApiError(422, "cursor must be the next_cursor of a previous page")
    return when, ident
