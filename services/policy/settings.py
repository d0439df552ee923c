"""Policy settings (REPLENISH_POLICY_*): segment service levels, segmentation cadence, alert thresholds."""
from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.policy.domain.alerts import AlertConfig
from services.policy.domain.segmentation import SegmentDefaults


class PolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLENISH_POLICY_", extra="ignore")

    default_service_level: float = 0.95   # before a SKU-location has a segment
    # Event clock (docs/clock.md): wait for forecast's day close before deciding the next day (off: decide on
    # the forecasts there are, which a replay cannot reproduce), and an unconfirmed reorder's time to live in
    # event time (orders confirms it when the day closes, a day later at the latest).
    event_wait_for_forecast: bool = True
    # ... and for orders' acknowledgement of D (every PO change made before D is in; off: orders not deployed)
    event_wait_for_orders: bool = True
    # fill-rate targets: the protection-period demand's shape (normal | gamma | auto) and whether unmet demand
    # is lost (stores: a sale not served is gone) — docs/policy.md, chosen on synthetic data (docs/bench-replay.md)
    demand_distribution: str = "normal"
    lost_sales: bool = False
    event_reorder_ttl_h: float = 72.0
    # fill-rate targets are a location's: its keys share one safety factor (least stock for the target), and no
    # key's own fill falls more than fill_floor_gap below it (docs/policy.md, chosen in docs/bench-replay.md)
    pool_fill: bool = True
    fill_floor_gap: float = 0.05
    factors_cache_s: float = 30.0  # wall clock: the shared factors solved from stored positions, reused this long
    service_level_a: float = 0.98
    service_level_b: float = 0.95
    service_level_c: float = 0.90
    xyz_adjust_z: float = 0.0             # e.g. -0.02: erratic items get a lower default
    abc_cutoffs: tuple[float, float] = (0.80, 0.95)
    segment_window_days: int = 91
    segment_interval_s: float = 300.0     # wall clock between segmentation runs
    segment_min_changes: int = 500        # ... or sooner once this many sale days changed
    decide_quiet_s: float = 0.1          # a key's own inputs quiet this long (≥ 2 fetch waits) → decide it
    decide_max_delay_s: float = 5.0      # ... or at the latest this long after it first became dirty
    decide_poll_s: float = 0.05
    decide_batch: int = 25               # keys decided per transaction (bounds how long a new key waits)
    decide_overdue_batch: int = 5        # ... of which at most this many not quiet but past the max delay
    overstock_days: float = 30.0
    # an emitted reorder that no PO has listed counts as on order this long (wall clock: orders down, a PO
    # line without reorder_id); after it the SKU can reorder again instead of waiting on it forever
    reorder_ttl_h: float = 24.0
    dead_stock_days: int = 60
    alert_hysteresis: float = 0.2
    alert_critical_value: float = 1000.0

    def segment_defaults(self) -> SegmentDefaults:
        levels = {"A": self.service_level_a, "B": self.service_level_b, "C": self.service_level_c}
        adjust = {"Z": self.xyz_adjust_z} if self.xyz_adjust_z else {}
        return SegmentDefaults(abc_cutoffs=self.abc_cutoffs, service_levels=levels, xyz_adjust=adjust)

    def alert_config(self) -> AlertConfig:
        return AlertConfig(dead_stock_days=self.dead_stock_days, critical_value=self.alert_critical_value,
                           hysteresis=self.alert_hysteresis, overstock_days=self.overstock_days)


@lru_cache(maxsize=1)
def policy_settings() -> PolicySettings:
    return PolicySettings()
