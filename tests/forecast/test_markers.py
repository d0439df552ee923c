"""The history consumer keeps the topic of each day_closed marker it decodes; a marker without one is poison."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord

from services.forecast.consumers import decode_with_topic
from services.forecast.handlers import day_mark
from shared.bus.consumer import PoisonMessage
from shared.events.envelope import make_envelope
from shared.events.markers import DAY_CLOSED
from shared.events.topics import SALES

AT = datetime(2025, 6, 1, 16, tzinfo=UTC)


def _record(env) -> ConsumerRecord:
    return ConsumerRecord(topic=SALES, partition=2, offset=7, timestamp=0, timestamp_type=0, key=None,
                          value=env.to_bytes(), checksum=None, serialized_key_size=0, serialized_value_size=1,
                          headers=())


def test_a_marker_is_decoded_with_the_topic_it_came_on():
    env = make_envelope(source="replenish/ingest", type=DAY_CLOSED, time=AT, data={
        "stream": "ingest", "location": "L1", "date": "2025-06-01", "partition": 2, "partitions": 4})
    mark, topic = day_mark(decode_with_topic(_record(env)))
    assert topic == SALES and (mark.stream, mark.location, mark.partition, mark.partitions) == ("ingest", "L1", 2, 4)
    assert mark.day.isoformat() == "2025-06-01"


def test_other_events_are_decoded_unchanged():
    env = make_envelope(source="t", type="replenish.ingest.sale", time=AT, data={"sku": "A"})
    assert decode_with_topic(_record(env)).data == {"sku": "A"}


@pytest.mark.parametrize("data", [{"stream": "ingest", "location": "L1", "date": "2025-06-01"},
                                  {"stream": "ingest", "location": "L1", "date": "June", "topic": SALES}])
def test_a_marker_without_its_topic_or_with_a_bad_date_is_poison(data):
    env = make_envelope(source="t", type=DAY_CLOSED, time=AT, data=data)
    with pytest.raises(PoisonMessage):
        day_mark(env)


def test_the_history_consumer_declares_markers_and_every_type_dispatch_applies():
    from services.forecast.consumers import EVENT_TYPES
    from services.forecast.handlers import HANDLERS

    assert EVENT_TYPES.handles == set(HANDLERS) | {DAY_CLOSED}
    assert {"replenish.ingest.supplier_item", "replenish.ingest.policy"} <= EVENT_TYPES.handles
    assert EVENT_TYPES.skips == {"replenish.ingest.lane", "replenish.ingest.supplier"}
