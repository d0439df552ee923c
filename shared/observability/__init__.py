"""Observability: JSON logs and Prometheus metrics."""
