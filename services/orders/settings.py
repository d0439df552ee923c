"""Orders settings (REPLENISH_ORDERS_*): consolidation window, approval limits, sending, delay timers."""
from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.orders.domain import (
    DEFAULT_PUSH_SCHEDULE,
    ApprovalRules,
    BreakerConfig,
    PushSchedule,
    legacy_schedule,
    parse_duration,
    parse_durations,
)

Seconds = Annotated[float, BeforeValidator(parse_duration)]  # 90, "90", "5m", "2h", "3d"
Durations = Annotated[tuple[float, ...], NoDecode, BeforeValidator(parse_durations)]  # "5s,5m,30m" or JSON


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
    # Waits after a failed push (the last repeats), up to push_max_age after the first attempt (docs/orders.md)
    push_schedule: Durations = DEFAULT_PUSH_SCHEDULE
    push_max_age: Seconds = 3 * 86400.0
    push_jitter: float = 0.1                # each wait is scaled by uniform(1 - jitter, 1 + jitter)
    push_per_supplier: int = 4              # pushes in flight to one supplier at a time (per replica)
    unresponsive_after_attempt: int = 5     # supplier_unresponsive once this many attempts of a PO failed
    # Deprecated (before the v2 schedule): set, and push_schedule unset, they give the old exponential ladder
    retry_base_s: float | None = None
    retry_cap_s: float | None = None
    retry_max_attempts: int | None = None
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    send_batch: int = 50                    # deliveries attempted concurrently per tick

    @model_validator(mode="after")
    def _valid_schedule(self) -> OrdersSettings:
        self.push_plan  # noqa: B018 - raises on an empty schedule, a delay <= 0 or a jitter outside [0, 1)
        return self

    @property
    def approval_rules(self) -> ApprovalRules:
        return ApprovalRules(auto_below=self.auto_approve_below, second_above=self.second_approval_above)

    @property
    def push_plan(self) -> PushSchedule:
        delays = self.push_schedule
        legacy = self.retry_base_s is not None or self.retry_cap_s is not None
        if legacy and "push_schedule" not in self.model_fields_set:
            delays = legacy_schedule(self.retry_base_s or 1.0, self.retry_cap_s or 60.0,
                                     self.retry_max_attempts or 6)
        return PushSchedule(delays=delays, max_age_s=self.push_max_age, jitter=self.push_jitter,
                            max_attempts=self.retry_max_attempts,
                            unresponsive_after=self.unresponsive_after_attempt)

    @property
    def breaker(self) -> BreakerConfig:
        return BreakerConfig(failure_threshold=self.breaker_failures, reset_timeout_s=self.breaker_reset_s)
