"""Event contracts: the CloudEvents envelope and one pydantic model per topic of docs/contract.md §7."""
from shared.events.envelope import Envelope, deterministic_id, make_envelope
from shared.events.topics import ALL_TOPICS, TOPIC_MODELS, dlq

__all__ = ["ALL_TOPICS", "TOPIC_MODELS", "Envelope", "deterministic_id", "dlq", "make_envelope"]
