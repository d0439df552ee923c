"""Replenish: event-driven replenishment and stockout alerting. The `replenish` command lives in cli.py."""
