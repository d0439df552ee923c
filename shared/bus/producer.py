"""The producer every service shares: acks=all, never idempotent (the bundled broker rejects it)."""
from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.settings import ServiceSettings


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # Exactly-once comes from the outbox and the consumers' inboxes, not from the producer.
    return AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all",
                            enable_idempotence=False, linger_ms=settings.kafka_linger_ms,
                            max_request_size=8 * 1024 * 1024, max_batch_size=512 * 1024,
                            request_timeout_ms=30_000)
