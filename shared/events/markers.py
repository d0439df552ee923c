"""Day-closed markers: punctuation that tells a consumer a location's day is complete on a whole topic.

Kafka orders records within a partition only. A producer that has published everything of a location's day
D then publishes one `day_closed` marker per partition of the topic (the outbox relay fans it out, after
every earlier outbox row). A consumer that has seen the marker on every partition of a topic has consumed
every record of day D on it, whatever the partition count, the batching or the number of replicas (the
marks are stored in the consumer's database, shared by its replicas). This is what makes a decision for
day D a function of the events of D and not of timing (docs/contract.md §10).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, text

DAY_CLOSED = "day_closed"
BROADCAST_HEADER = "x-replenish-broadcast"


@dataclass(frozen=True)
class DayMark:
    """One partition's marker: `stream` (who closed it: ingest, forecast, policy), location, day."""

    stream: str
    location: str
    day: date
    topic: str
    partition: int
    partitions: int

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> DayMark:
        return cls(stream=str(data["stream"]), location=str(data["location"]), day=date.fromisoformat(data["date"]),
                   topic=str(data.get("topic", "")), partition=int(data.get("partition", 0)),
                   partitions=max(int(data.get("partitions", 1)), 1))


def marker_data(stream: str, location: str, day: date) -> dict[str, Any]:
    return {"stream": stream, "location": location, "date": day.isoformat()}


def fan_out(value: bytes, topic: str, partition: int, partitions: int) -> bytes:
    """The marker envelope as partition `partition` gets it: its own id (inboxes dedupe by id) and place."""
    env = orjson.loads(value)
    env["id"] = f"{env['id']}:p{partition}"
    env.setdefault("data", {}).update({"topic": topic, "partition": partition, "partitions": partitions})
    return orjson.dumps(env)


def day_marks_table(metadata: MetaData) -> Table:
    """The markers a service's consumers have seen, one row per (stream, location, day, topic, partition)."""
    return Table(
        "day_marks", metadata,
        Column("stream", String(50), primary_key=True),
        Column("location", String(200), primary_key=True),
        Column("day", Date, primary_key=True),
        Column("topic", String(200), primary_key=True),
        Column("partition", Integer, primary_key=True),
        Column("partitions", Integer, nullable=False),
    )


async def record_mark(session, table: Table, mark: DayMark, topic: str | None = None) -> bool:
    """Store one partition's marker (a redelivery changes nothing); True when it was new."""
    result = await session.execute(text(
        f'INSERT INTO "{table.schema}".day_marks (stream, location, day, topic, partition, partitions) '
        "VALUES (:s, :l, :d, :t, :p, :n) ON CONFLICT DO NOTHING"),
        {"s": mark.stream, "l": mark.location, "d": mark.day, "t": topic or mark.topic, "p": mark.partition,
         "n": mark.partitions})
    return bool(result.rowcount)


async def closed_days(session, table: Table, stream: str, topics: list[str], location: str,
                      after: date | None) -> list[date]:
    """Days after `after` whose markers from `stream` arrived on every partition of every one of `topics`."""
    rows = await session.execute(text(
        "SELECT day FROM (SELECT day, topic, count(*) AS seen, max(partitions) AS n "
        f'FROM "{table.schema}".day_marks WHERE stream = :s AND location = :l AND topic = ANY(:topics) '
        "AND (CAST(:after AS date) IS NULL OR day > CAST(:after AS date)) GROUP BY day, topic) t "
        "WHERE seen >= n GROUP BY day HAVING count(*) = :ntopics ORDER BY day"),
        {"s": stream, "l": location, "topics": list(topics), "after": after, "ntopics": len(set(topics))})
    return [r[0] for r in rows]


def day_end(day: date, timezone: str | None) -> datetime:
    """The first instant after the location-local day `day` (its close), timezone-aware."""
    tz = ZoneInfo(timezone or "UTC")
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def local_day(at: datetime, timezone: str | None) -> date:
    """The location-local calendar day of an instant."""
    return at.astimezone(ZoneInfo(timezone or "UTC")).date()


def decided_days_table(metadata: MetaData) -> Table:
    """Per location, the latest local day whose effects this service has all committed (`decided_through`)."""
    return Table(
        "decided_days", metadata,
        Column("location", String(200), primary_key=True),
        Column("day", Date, nullable=False),
        Column("timezone", String(64), nullable=True),
    )


async def record_decided(session, table: Table, location: str, day: date, timezone: str | None) -> None:
    """Move the location's decided day forward (never back), in the caller's transaction."""
    await session.execute(text(
        f'INSERT INTO "{table.schema}".decided_days (location, day, timezone) VALUES (:l, :d, :tz) '
        "ON CONFLICT (location) DO UPDATE SET day = GREATEST(decided_days.day, EXCLUDED.day), "
        "timezone = COALESCE(EXCLUDED.timezone, decided_days.timezone)"), {"l": location, "d": day, "tz": timezone})


async def last_decided(session, table: Table, location: str) -> date | None:
    row = (await session.execute(text(f'SELECT day FROM "{table.schema}".decided_days WHERE location = :l'),
                                 {"l": location})).first()
    return row[0] if row else None


async def decided_through(session, table: Table) -> datetime | None:
    """The end of the latest day decided at every location (the slowest location holds it back)."""
    rows = (await session.execute(text(f'SELECT day, timezone FROM "{table.schema}".decided_days'))).all()
    ends = [day_end(day, tz) for day, tz in rows]
    return min(ends) if ends else None
