"""The raw Kafka door: one canonical event (or a CloudEvents envelope carrying one) per message."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from services.ingest import freshness, handlers
from shared.bus.consumer import PoisonMessage
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope, deterministic_id


def decode_raw(record: ConsumerRecord) -> Envelope:
    """Wrap the raw message so the inbox can dedupe redeliveries; validation happens in the handler."""
    try:
        obj = json.loads(record.value)
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"not JSON: {str(exc)[:200]}") from exc
    ident = (record.topic, record.partition, record.offset)
    if isinstance(obj, dict) and isinstance(obj.get("source"), str) and isinstance(obj.get("id"), str):
        ident = ("raw", obj["source"], obj["id"])
    return Envelope(id=deterministic_id(*ident), source="replenish/ingest/raw", type="replenish.ingest.raw",
                    time=datetime.now(UTC), data={"event": obj})


def make_raw_handler(cache: handlers.MasterCache):
    async def handle_raw(uow: UnitOfWork, env: Envelope) -> None:
        # Invalid events land in the quarantine like on every other door; nothing is dropped.
        now = datetime.now(UTC)
        done = await handlers.ingest_records(uow, cache, [env.data.get("event")], now, door="raw")
        await freshness.note_arrivals(uow, done.tallies, now)

    return handle_raw
