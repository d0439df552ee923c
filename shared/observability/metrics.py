"""Prometheus metrics every service exposes on /metrics (names are documented in docs/operations.md)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMER_LAG = Gauge("replenish_consumer_lag", "Messages behind the partition's high watermark",
                     ["topic", "partition", "group"])
EVENT_LATENCY = Histogram("replenish_event_latency_seconds",
                          "Time from an event's publication to its handler committing", ["topic", "group"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENTS = Counter("replenish_events_total", "Events handled by outcome", ["service", "outcome"])
DLQ = Counter("replenish_dlq_total", "Messages sent to a dead-letter topic", ["topic"])
OUTBOX_BACKLOG = Gauge("replenish_outbox_backlog", "Outbox rows not yet published", ["service"])
DECISIONS = Counter("replenish_decisions_total", "Policy decisions by kind", ["kind"])
DECIDED_KEYS = Counter("replenish_policy_decided_keys_total",
                       "Keys policy's decider took, by why they were due (settled, quiet, overdue)", ["due"])
DECISION_FAILURES = Counter("replenish_policy_decision_failures_total",
                            "Keys policy could not decide (each also raises a decision_failed alert)")
PURCHASE_ORDERS = Gauge("replenish_purchase_orders", "Purchase orders by status", ["status"])
ALERTS = Counter("replenish_alerts_total", "Alert events by type and severity", ["type", "severity"])
DELIVERIES = Counter("replenish_deliveries_total", "Notification deliveries by channel and outcome",
                     ["channel", "status"])
