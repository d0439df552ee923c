"""Forecast consumes sales, stock, master data and promotions through one consumer (key order kept); sales and
stock events of a batch are applied in bulk, master data and promotions one by one, day-closed markers are
stored with the topic they came on."""
from __future__ import annotations

from functools import partial

from aiokafka import ConsumerRecord

from services.forecast.handlers import HANDLERS, TOPICS, dispatch
from services.forecast.history_batch import apply_batch
from shared.bus.consumer import decode_envelope
from shared.bus.types import EventTypes
from shared.events.envelope import Envelope
from shared.events.markers import DAY_CLOSED
from shared.service import ConsumerSpec

__all__ = ["EVENT_TYPES", "TOPICS", "apply_batch", "decode_with_topic", "dispatch", "history_consumer"]

# Every type on forecast's topics: handled, or master data forecast has no use for; any other is dead-lettered.
_MASTER_TYPES = {f"replenish.ingest.{t}" for t in ("item", "location", "lane", "supplier", "supplier_item", "policy")}
EVENT_TYPES = EventTypes(handles={*HANDLERS, DAY_CLOSED}, skips=_MASTER_TYPES - set(HANDLERS))


def decode_with_topic(record: ConsumerRecord) -> Envelope:
    """A marker closes a day on one partition of one topic: keep which topic (its data does not say)."""
    env = decode_envelope(record)
    if env.type == DAY_CLOSED:
        env.data["topic"] = record.topic
    return env


def history_consumer(*, event_clock: bool, batch_size: int = 500) -> ConsumerSpec:
    return ConsumerSpec("history", TOPICS, None, decoder=decode_with_topic, batch_size=batch_size,
                        batch_handler=partial(apply_batch, event_clock=event_clock), types=EVENT_TYPES)
