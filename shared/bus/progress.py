"""Per-batch bookkeeping of the consumer loop: the items of a polled batch, the stall that puts them back,
and the per-partition progress behind /v1/watermark and the lag metric."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import ConsumerRecord, TopicPartition

from shared.bus.failures import describe
from shared.bus.types import Verdict
from shared.events.envelope import Envelope


@dataclass
class Progress:
    """Per-partition bookkeeping behind /v1/watermark and the lag metric."""

    group: str
    event_time: dict[tuple[str, int], datetime] = field(default_factory=dict)
    lag: dict[tuple[str, int], int] = field(default_factory=dict)

    def watermark(self) -> datetime | None:
        """Latest event time fully processed; a lagging partition holds it back, an idle caught-up one does not."""
        behind = [self.event_time[tp] for tp, lag in self.lag.items() if lag > 0 and tp in self.event_time]
        if behind:
            return min(behind)
        return max(self.event_time.values(), default=None)

    def lag_by_topic(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (topic, _), lag in self.lag.items():
            out[topic] = out.get(topic, 0) + max(lag, 0)
        return out


@dataclass
class Item:
    """One record of a polled batch and what to do with it: handle, skip, or dead-letter with `reason`."""

    record: ConsumerRecord
    env: Envelope | None
    verdict: Verdict
    reason: str | None = None

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.record.topic, self.record.partition)


class Stalled(Exception):
    """The infrastructure failed at `items[0]`: those items (and all after them) are to be retried later."""

    def __init__(self, items: list[Item], cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.items, self.cause = items, cause

    def resume_at(self) -> dict[TopicPartition, int]:
        """Per partition, the first offset not yet done."""
        out: dict[TopicPartition, int] = {}
        for item in self.items:
            out.setdefault(item.tp, item.record.offset)
        return out
