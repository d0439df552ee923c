"""Which failures a consumer retries until the infrastructure is back and which it dead-letters (no I/O)."""
from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, RequestTimedOutError
from pydantic import ValidationError
from sqlalchemy import exc as sa

from shared.bus.deadletter import DeadLetter, dead_letter_headers, dlq_topic, replay_group
from shared.bus.failures import Backoff, Failure, InfrastructureError, PoisonMessage, classify
from shared.bus.types import EventTypes, Verdict, unknown_type_reason
from shared.events.topics import SaleRecorded


def _wrapped(outer: type[sa.DBAPIError], inner: BaseException) -> sa.DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: sa error → adapted DBAPI error (orig) → asyncpg error."""
    adapted = Exception(str(inner))
    adapted.__cause__ = inner
    return outer("SELECT 1", {}, adapted)


def _validation_error() -> ValidationError:
    try:
        SaleRecorded.model_validate({"type": "sale"})
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


def _raised_while_handling(cause: BaseException) -> BaseException:
    """An error raised in an `except` block: the infrastructure failure under it is still what happened."""
    try:
        try:
            raise cause
        except OSError:
            raise RuntimeError("handler gave up")  # noqa: B904
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    _wrapped(sa.DBAPIError, asyncpg.exceptions.SerializationError("could not serialize access")),
    _wrapped(sa.DBAPIError, asyncpg.exceptions.DeadlockDetectedError("deadlock detected")),
    _wrapped(sa.DBAPIError, asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")),
    _wrapped(sa.InterfaceError, asyncpg.InterfaceError("cannot perform operation: connection is closed")),
    _wrapped(sa.InternalError, asyncpg.exceptions._base.InternalClientError("cannot switch to state 12")),
    sa.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")),
    sa.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
    KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]"),
    NodeNotReadyError("node 0 not ready"),
    RequestTimedOutError(),
    InfrastructureError("dead-letter topic unavailable"),
    _raised_while_handling(ConnectionResetError(104, "reset")),
], ids=lambda e: type(e).__name__)
def test_infrastructure_failures_are_retried_until_they_pass(exc):
    assert classify(exc) is Failure.INFRASTRUCTURE


@pytest.mark.parametrize("exc", [
    PoisonMessage("not a CloudEvents envelope"),
    _validation_error(),
    # a value of the wrong type for its column: SQLAlchemy says InterfaceError, asyncpg says DataError
    _wrapped(sa.InterfaceError, asyncpg.exceptions._base.DataError("invalid input for query argument $1")),
], ids=lambda e: type(e).__name__)
def test_content_failures_go_to_the_dlq_at_once(exc):
    assert classify(exc) is Failure.CONTENT


@pytest.mark.parametrize("exc", [
    ValueError("cannot apply this event"),
    KeyError("sku"),
    _wrapped(sa.IntegrityError, asyncpg.exceptions.UniqueViolationError("duplicate key value")),
], ids=lambda e: type(e).__name__)
def test_other_failures_get_a_few_retries_then_the_dlq(exc):
    assert classify(exc) is Failure.UNKNOWN


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_success():
    backoff = Backoff(base_s=0.1, cap_s=30, jitter=0)
    delays = [backoff.next() for _ in range(12)]
    assert delays[:4] == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert delays[-1] == 30 and max(delays) == 30
    backoff.reset()
    assert backoff.next() == pytest.approx(0.1)


def test_a_consumer_handles_or_knowingly_skips_each_type_and_nothing_else():
    types = EventTypes(handles={"a", "b"}, skips={"c"})
    assert [types.verdict(t) for t in ("a", "c", "d")] == [Verdict.HANDLE, Verdict.SKIP, Verdict.UNKNOWN]
    assert types.covers({"a", "c", "d", "e"}) == {"d", "e"}
    assert unknown_type_reason("d") == "unknown event type d"
    with pytest.raises(ValueError, match="both handled and skipped"):
        EventTypes(handles={"a"}, skips={"a"})


class _Record:
    topic, partition, offset, timestamp, key, value = "replenish.ingest.sales.v1", 3, 41, 1_700_000_000_000, b"k", b"v"
    headers = [("x-replenish-ingestbatch", b"b1"), ("x-replenish-reason", b"an older reason")]


def test_a_dead_letter_keeps_its_own_headers_and_says_why_and_where_it_failed():
    headers = dead_letter_headers(_Record(), reason="unknown event type x", consumer="policy.events")
    letter = DeadLetter("replenish.ingest.sales.v1.dlq", 0, 7, b"k", b"v", tuple(headers), None)
    assert (letter.reason, letter.consumer) == ("unknown event type x", "policy.events")
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (_Record.topic, 3, 41)
    assert letter.replay_headers() == [("x-replenish-ingestbatch", b"b1"),
                                       ("x-replenish-replayed-from", b"replenish.ingest.sales.v1.dlq[0]@7")]
    assert dlq_topic("t") == dlq_topic("t.dlq") == "t.dlq"
    assert replay_group("t") == replay_group("t.dlq") == "replenish.dlq-replay.t"
