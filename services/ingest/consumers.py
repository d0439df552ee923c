"""The raw Kafka door: one canonical event (or a CloudEvents envelope carrying one) per message."""
from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from services.ingest import freshness, handlers
from services.ingest.domain.jsontext import NotJson, parse_json
from services.ingest.domain.outcomes import Unreadable
from shared.bus.types import EventTypes
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope, deterministic_id

MAX_UNREADABLE_CHARS = 10_000  # of a message that is not JSON, this much is kept in the quarantine
RAW_TYPE = "replenish.ingest.raw"
# decode_raw wraps every message, readable or not, as this one type: the handler quarantines what is bad.
RAW_TYPES = EventTypes(handles={RAW_TYPE})


def decode_raw(record: ConsumerRecord) -> Envelope:
    """Wrap the raw message so the inbox can dedupe redeliveries; validation happens in the handler.

    A message that is not JSON is no poison for the DLQ either: like a bad event on any other door it is
    rejected with its reason and kept in the quarantine (docs/contract.md §12)."""
    ident = (record.topic, record.partition, record.offset)
    try:
        obj = parse_json(record.value if record.value is not None else b"")
    except NotJson as exc:
        text = bytes(record.value or b"").decode("utf-8", errors="replace")[:MAX_UNREADABLE_CHARS]
        return Envelope(id=deterministic_id(*ident), source="replenish/ingest/raw", type=RAW_TYPE,
                        time=datetime.now(UTC), data={"unreadable": text, "reason": f"not JSON: {exc}"})
    if isinstance(obj, dict) and isinstance(obj.get("source"), str) and isinstance(obj.get("id"), str):
        ident = ("raw", obj["source"], obj["id"])
    return Envelope(id=deterministic_id(*ident), source="replenish/ingest/raw", type=RAW_TYPE,
                    time=datetime.now(UTC), data={"event": obj})


def make_raw_handler(cache: handlers.MasterCache):
    async def handle_raw(uow: UnitOfWork, env: Envelope) -> None:
        # Invalid events land in the quarantine like on every other door; nothing is dropped.
        now = datetime.now(UTC)
        if "unreadable" in env.data:
            items: list[object] = [Unreadable([f"event: {env.data['reason']}"])]
            done = await handlers.ingest_records(uow, cache, items, now, door="raw",
                                                 originals=[env.data["unreadable"]])
        else:
            done = await handlers.ingest_records(uow, cache, [env.data.get("event")], now, door="raw")
        await freshness.note_arrivals(uow, done.tallies, now)

    return handle_raw
