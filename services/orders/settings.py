"""Orders settings (REPLENISH_ORDERS_*): consolidation window, approval limits, sending, delay timers."""
from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.orders.domain import ApprovalRules, BreakerConfig, RetryPolicy


class OrdersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLENISH_ORDERS_", extra="ignore")

    window_s: float = 2.0                   # consolidation window of a proposed PO
    auto_approve_below: float = 10000.0     # total below which no human approves
    second_approval_above: float = 50000.0  # total above which two distinct approvers are needed
    tick_s: float = 0.5                     # wall-clock period of the window closer and the sender
    delay_check_s: float = 2.0              # period of the po_late / supplier_unresponsive evaluation
    unack_timeout_s: float = 86400.0        # sent and not acknowledged for this long: supplier_unresponsive
    metrics_every_s: float = 15.0           # period of the replenish_purchase_orders{status} count
    delay_batch: int = 2000                 # POs evaluated per delay pass at most (the rest next pass)
    push_timeout_s: float = 5.0
    retry_base_s: float = 1.0
    retry_cap_s: float = 60.0
    retry_max_attempts: int = 6
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    send_batch: int = 50                    # deliveries attempted concurrently per tick

    @property
    def approval_rules(self) -> ApprovalRules:
        return ApprovalRules(auto_below=self.auto_approve_below, second_above=self.second_approval_above)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(base_s=self.retry_base_s, cap_s=self.retry_cap_s,
                           max_attempts=self.retry_max_attempts)

    @property
    def breaker(self) -> BreakerConfig:
        return BreakerConfig(failure_threshold=self.breaker_failures, reset_timeout_s=self.breaker_reset_s)
