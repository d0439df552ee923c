"""Notify settings (REPLENISH_NOTIFY_*): dispatcher tick, retries, send timeout, PO mailer."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLENISH_NOTIFY_", extra="ignore")

    tick_s: float = 0.2              # dispatcher wake-up; bounds the latency added to group_wait: 0s
    escalation_every_s: float = 2.0  # how often unacknowledged alerts are checked against their policy
    reload_every_s: float = 1.0      # how often REPLENISH_CONFIG's mtime is checked
    max_attempts: int = 6            # sends per delivery before it is recorded as failed
    retry_base_s: float = 2.0        # first retry wait; doubles per attempt
    retry_cap_s: float = 300.0
    send_timeout_s: float = 5.0      # connect and read timeout for webhook sends
    batch: int = 200                 # deliveries sent per tick at most
    po_email_every_s: float = 1.0    # PO mailer poll for retries (new requests wake it at once)
    link_rate_per_min: int = 600    # acknowledge-link requests per client address (the console is one client)
    po_email_lease_s: float = 60.0   # a claimed PO email is retried after this if the sender died mid-send
