"""Telling an exception's cause apart: our infrastructure is away (503), or the caller sent a value the
database cannot hold (422); everything else is a bug of ours (500).

Exceptions are read through their whole chain (SQLAlchemy wraps the driver's error, which wraps the OS
error), by SQLSTATE where there is one: the driver's class names differ between client- and server-side.
"""
from __future__ import annotations

from collections.abc import Iterator

# SQLSTATE classes and codes that say "the database is not there for us right now", not "your data".
# 08 connection exception, 53 insufficient resources (too many connections), 57 operator intervention
# (admin/crash shutdown, cannot connect now, statement timeout); 40001/40P01 lost a race, worth a retry;
# 55P03 lock not available; 25006 read-only transaction (a standby after a failover).
UNAVAILABLE_CLASSES = ("08", "53", "57")
UNAVAILABLE_CODES = ("40001", "40P01", "55P03", "25006")
BAD_VALUE_CLASS = "22"  # data exception: NUL in text, out of range, value too long, invalid datetime…

RETRY_AFTER_S = 5


def causes(exc: BaseException, limit: int = 12) -> Iterator[BaseException]:
    """The exception, then what caused it (`orig`, `__cause__`, `__context__`), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < limit:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def bad_value(exc: BaseException) -> bool:
    """The database (or its driver) refused a value the caller sent: NUL, an unpaired surrogate, an integer
    beyond 64 bits, a date out of range. Checked before `unavailable`: a refused value is no outage."""
    for cause in causes(exc):
        state = _sqlstate(cause)
        if state is not None and state.startswith(BAD_VALUE_CLASS):
            return True
        if isinstance(cause, UnicodeEncodeError):
            return True
    return False


def unavailable(exc: BaseException) -> str | None:
    """'database' or 'broker' when the exception means that it cannot be reached now; None otherwise."""
    for cause in causes(exc):
        state = _sqlstate(cause)
        if state is not None and (state[:2] in UNAVAILABLE_CLASSES or state in UNAVAILABLE_CODES):
            return "database"
        if getattr(cause, "connection_invalidated", False):
            return "database"
        module = type(cause).__module__ or ""
        name = type(cause).__name__
        if module.startswith("aiokafka") and (getattr(cause, "retriable", False)
                                               or name in ("KafkaConnectionError", "KafkaTimeoutError")):
            return "broker"
        if module.startswith("sqlalchemy") and name in ("TimeoutError", "DisconnectionError"):
            return "database"  # the pool is exhausted or a connection was lost
        if module.startswith("asyncpg") and name in ("ConnectionDoesNotExistError", "InterfaceError") \
                and "connection" in str(cause).lower():
            return "database"
        if isinstance(cause, OSError):  # refused, reset, timed out, the socket file gone (PostgreSQL stopped)
            return "broker" if any((type(c).__module__ or "").startswith("aiokafka") for c in causes(exc)) \
                else "database"
    return None
