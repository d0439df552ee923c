"""Kafka plumbing on aiokafka: producer, topic admin, and the consumer loop with inbox, retry and DLQ."""
