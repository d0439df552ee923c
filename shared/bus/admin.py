"""Topic administration: create every topic of docs/contract.md §7 and its dead-letter twin."""
from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.events.topics import ALL_TOPICS, dlq

log = logging.getLogger(__name__)


def contract_topics() -> list[str]:
    return [t for topic in ALL_TOPICS for t in (topic, dlq(topic))]


async def ensure_topics(bootstrap: str, partitions: int = 6, *, attempts: int = 30) -> list[str]:
    """Create missing topics (idempotent); returns the names that exist afterwards."""
    wanted = contract_topics()
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if missing:
                try:
                    await admin.create_topics([NewTopic(t, num_partitions=1 if t.endswith(".dlq") else partitions,
                                                        replication_factor=1) for t in missing])
                except TopicAlreadyExistsError:
                    pass
            existing = set(await admin.list_topics())
            if all(t in existing for t in wanted):
                return sorted(existing)
        except (KafkaConnectionError, OSError) as exc:
            log.info("broker not reachable yet (%s), attempt %d", exc, attempt + 1)
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"could not create topics on {bootstrap}")
