"""Why a message failed: infrastructure (retry until it is back, never dead-letter) or its own content (DLQ)."""
from __future__ import annotations

import random
from enum import StrEnum

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy import exc as sa


class PoisonMessage(Exception):
    """Raised by a decoder or handler for input that no retry can fix: straight to the DLQ."""


class InfrastructureError(Exception):
    """Raised (or chained) by code that knows a dependency is away, e.g. the DLQ producer: retried, never DLQ'd."""


class Failure(StrEnum):
    INFRASTRUCTURE = "infrastructure"  # the partition pauses and the batch is retried with backoff, forever
    CONTENT = "content"  # the message itself: to the DLQ at once
    UNKNOWN = "unknown"  # a few quick retries (a race may explain it), then the DLQ like content


# SQLSTATE classes and codes a retry fixes: connection exception, transaction rollback (serialization failure
# 40001, deadlock 40P01), insufficient resources (too many connections), operator intervention (shutdown,
# "starting up", statement timeout), system error, lock not available, idle-in-transaction timeout, a cached
# plan invalidated by a migration.
_INFRA_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58", "F0")
_INFRA_SQLSTATES = ("55P03", "25P03", "0A000")
_INFRA_TEXT = ("the database system is starting up", "the database system is shutting down",
               "the database system is in recovery mode", "terminating connection", "connection was closed",
               "connection is closed", "server closed the connection", "could not connect to server")


def classify(exc: BaseException) -> Failure:
    """The verdict on an exception: its own, else that of what it was raised from or while handling (a DBAPI
    error's `orig` first), outermost first.

    asyncpg's exception decides over SQLAlchemy's wrapper: SQLAlchemy wraps a client-side DataError (a value of
    the wrong type) in an InterfaceError, and a dropped connection (08003) in a plain DBAPIError."""
    return _verdict(exc, set()) or Failure.UNKNOWN


def _verdict(e: BaseException | None, seen: set[int]) -> Failure | None:
    if e is None or id(e) in seen:
        return None
    seen.add(id(e))
    own = _own_verdict(e)
    if own is not None:
        return own
    inner = [getattr(e, "orig", None), e.__cause__, None if e.__suppress_context__ else e.__context__]
    if isinstance(e, BaseExceptionGroup):
        inner += list(e.exceptions)
    for cause in inner:
        if (verdict := _verdict(cause, seen)) is not None:
            return verdict
    if isinstance(e, sa.OperationalError | sa.InterfaceError | sa.DisconnectionError):
        return Failure.INFRASTRUCTURE  # a driver other than asyncpg, or a wrapper without its cause
    return None


def _own_verdict(e: BaseException) -> Failure | None:
    if isinstance(e, InfrastructureError):
        return Failure.INFRASTRUCTURE
    if isinstance(e, PoisonMessage | ValidationError):
        return Failure.CONTENT
    if isinstance(e, asyncpg.PostgresError | asyncpg.InterfaceError | asyncpg.exceptions._base.InternalClientError):
        return _classify_asyncpg(e)
    if isinstance(e, sa.DBAPIError):
        return Failure.INFRASTRUCTURE if e.connection_invalidated else None  # else: what its orig says
    if isinstance(e, OSError | TimeoutError | EOFError | KafkaConnectionError | KafkaTimeoutError | sa.TimeoutError):
        return Failure.INFRASTRUCTURE
    if isinstance(e, KafkaError) and getattr(e, "retriable", False):
        return Failure.INFRASTRUCTURE
    return Failure.INFRASTRUCTURE if _infra_text(e) else None


def _classify_asyncpg(e: BaseException) -> Failure:
    if isinstance(e, asyncpg.PostgresError):
        state = str(getattr(e, "sqlstate", "") or "")
        if state.startswith(_INFRA_SQLSTATE_CLASSES) or state in _INFRA_SQLSTATES or _infra_text(e):
            return Failure.INFRASTRUCTURE
        return Failure.UNKNOWN  # a constraint or a data error: a concurrent writer may explain it once
    if isinstance(e, ValueError):  # asyncpg's client-side DataError: a value the column cannot take
        return Failure.CONTENT
    # "connection is closed", "another operation is in progress" (a connection lost mid-operation), pool
    # closing, a statement cache outdated by a migration
    return Failure.INFRASTRUCTURE


def _infra_text(e: BaseException) -> bool:
    text = str(e).lower()
    return any(marker in text for marker in _INFRA_TEXT)


def describe(exc: BaseException, limit: int = 500) -> str:
    return f"{type(exc).__name__}: {str(exc)[:limit]}"


class Backoff:
    """Capped exponential delays with jitter (so replicas of a service do not retry in step). The cap bounds
    how long a consumer stays paused after the database is back; a retry while it is away costs one refused
    connection attempt, so 5 s is cheap."""

    def __init__(self, base_s: float = 0.1, cap_s: float = 5.0, jitter: float = 0.2) -> None:
        self.base_s, self.cap_s, self.jitter = base_s, cap_s, jitter
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.base_s * 2 ** self.attempt, self.cap_s)
        self.attempt += 1
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self.attempt = 0
