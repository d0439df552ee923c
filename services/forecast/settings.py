"""Forecast settings (REPLENISH_FORECAST_*)."""
from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ForecastSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPLENISH_FORECAST_", extra="ignore")

    horizon_days: int = 90      # at least this; a series gets lead time + review period + 28 days if longer
    review_days: float = 7.0    # review period assumed when no policy names one (as policy does)
    quantiles: str = ""         # extra levels for the payload's quantiles map, e.g. "0.95,0.98"
    workers: int = 1            # fitting processes; on k8s set it to the pod's CPU limit
    batch_size: int = 5000      # series claimed per round: large calls amortise the vectorized pass
    min_chunk: int = 500        # do not split a round across workers below this many series per worker
    poll_s: float = 1.0
    quiet_s: float = 1.0        # wait until a series has had no new event for this long
    lease_s: float = 600.0      # a claim not finished by then (crashed instance) is claimed again
    use_prophet: str = "auto"   # auto | never | always
    prophet_budget: int = 3     # Prophet trials per fit call (see docs/bench-forecast.md)
    # REPLENISH_CLOCK=event (docs/forecast.md, "Event clock and closed days")
    refit_days: int = 7         # a series is re-forecast when its last forecast is this many closed days old
    day_chunk: int = 2000       # series per fit call of one closed day (fixed: results never depend on workers)

    @field_validator("quantiles")
    @classmethod
    def _levels_valid(cls, value: str) -> str:
        for level in _split(value):
            if not 0.0 < float(level) < 1.0:
                raise ValueError(f"quantile level {level} must lie in (0, 1)")
        return value

    @property
    def extra_quantiles(self) -> tuple[float, ...]:
        return tuple(sorted({float(q) for q in _split(self.quantiles)}))

    @property
    def prophet_flag(self) -> bool | str:
        return {"never": False, "always": True}.get(self.use_prophet, "auto")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
